"""Drive the real QGIS desktop under Xvfb with a scratch profile: install the packaged zip, run the shipped model
with its outputs loaded and report what the user sees (tools/desktop/startup.py runs inside QGIS).

Usage: session.py RESULT.json [--shots FOLDER]   (`make screenshots` writes docs/screenshots/). Needs `Xvfb`
(apt package xvfb) and the `qgis` binary; prints why and exits 2 when either is missing.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
T37 = ROOT / "tests" / "data" / "s2_t37mem_timeseries"


def missing():
    """Why the desktop cannot be started here, or None."""
    for exe in ("Xvfb", "qgis"):
        if shutil.which(exe) is None:
            return f"`{exe}` not found (apt packages xvfb and qgis)"
    return None


def _free_display():
    for n in range(99, 140):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return n
    raise RuntimeError("no free X display number")


def _stop(proc):
    """Stop a process this session started (by its PID), then its process group."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def run(result, shots=None, timeout=180, work=None):
    """Start Xvfb and QGIS, wait for startup.py's JSON (at most `timeout` s), stop both; returns the JSON dict."""
    work = Path(work or tempfile.mkdtemp(prefix="cloudremoval_desktop_"))
    dist, out, profiles = work / "dist", work / "out", work / "profiles"
    for d in (dist, out, profiles):
        d.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["make", "-s", "package", f"DIST={dist}"], cwd=ROOT, capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(made.stdout + made.stderr)
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
    result = Path(result)
    for old in (result, Path(f"{result}.progress")):
        if old.exists():
            old.unlink()
    job = work / "job.json"
    job.write_text(json.dumps({"zip": str(dist / "cloud_removal.zip"), "out": str(out), "result": str(result),
                               "shots": str(shots) if shots else None,
                               "data": {"cloudy": str(T37 / "S2_T37MEM_20200101_sref20m.tif"),
                                        "clear": str(T37 / "S2_T37MEM_20190615_sref20m.tif")}}))
    display = _free_display()
    runtime = work / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "QGIS_PLUGINPATH")}
    env.update({"DISPLAY": f":{display}", "CLOUDREMOVAL_DESKTOP_JOB": str(job), "XDG_RUNTIME_DIR": str(runtime),
                "XDG_CONFIG_HOME": str(work / "config"),  # Qt settings outside the user's own
                "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    xvfb = qgis = None
    log = open(work / "qgis.log", "w")
    try:
        xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if os.path.exists(f"/tmp/.X11-unix/X{display}"):
                break
            time.sleep(0.1)
        qgis = subprocess.Popen(["qgis", "--profiles-path", str(profiles), "--nologo", "--noversioncheck",
                                 "--code", str(Path(__file__).with_name("startup.py"))],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline and not result.exists() and qgis.poll() is None:
            time.sleep(0.5)
        if result.exists():
            try:
                qgis.wait(20)
            except subprocess.TimeoutExpired:
                pass
    finally:
        _stop(qgis)
        _stop(xvfb)
        log.close()
    if not result.exists():
        tail = (work / "qgis.log").read_text(errors="replace")[-3000:]
        steps = Path(f"{result}.progress")
        steps = steps.read_text() if steps.exists() else "startup.py never ran (a dialog at start-up?)\n"
        raise RuntimeError(f"QGIS wrote no result in {timeout} s (rc {qgis.returncode}); progress:\n{steps}"
                           f"log:\n{tail}")
    return json.loads(result.read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result")
    parser.add_argument("--shots")
    args = parser.parse_args()
    why = missing()
    if why:
        print(f"desktop session skipped: {why}")
        return 2
    seen = run(args.result, args.shots)
    print(json.dumps({k: seen.get(k) for k in ("steps", "toolbox", "error")}, indent=1))
    if args.shots:
        for name in sorted(os.listdir(args.shots)):
            print(Path(args.shots) / name)
    return 1 if seen.get("error") else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
