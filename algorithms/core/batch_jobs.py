"""Job tables for the batch runner: read (CSV or JSON), run one job through the Python API, write the summary.

No dask here: `cloud_removal.batch` runs these jobs on a dask.distributed cluster, one task per job, and a test or
a plain loop can run them in one process. A job is a dict with "id", "algorithm", "args" (the API function's
keyword arguments) and "outputs" (the files it writes).

Job table columns (CSV header or JSON keys; case does not matter): `target`, `replacement` (several separated by
`;` in CSV, a list in JSON), `output`, optional `id`, `algorithm` and `mask`, and any parameter of the algorithm's
API function by its name (`window_size`, `product_level`, ...); an empty cell keeps the default. Relative paths are
relative to the job table's folder.
"""

import csv
import inspect
import json
import os
import socket
import time

from . import api
from .gdal_env import gdal_scoped
from .progress import Cancelled, InputError
from .raster_io import open_raster

# algorithm -> (API function, argument for `target`, for `replacement`, for `mask`, for `output`)
ALGORITHMS = {
    "remove_clouds": (api.remove_clouds, "cloudy_image", "replacement_image", None, "cloud_free"),
    "multi_date_fill": (api.multi_date_fill, "input", "replacements", "input_mask", "output"),
    "slra_fill": (api.slra_fill, "input", "replacement", "mask", "output"),
    "cloud_mask": (api.cloud_mask, "input", None, None, "output"),
    "reclassify": (api.reclassify, "input", None, None, "output"),
}
OUTPUT_ARGS = ("cloud_classes", "cloud_mask", "output_probability", "output_source", "output_remaining")
PATH_ARGS = OUTPUT_ARGS + ("input_mask", "replacement_masks")
LIST_ARGS = ("replacements", "replacement_masks")
TABLE_KEYS = ("id", "algorithm", "target", "replacement", "mask", "output")
BATCH_THREADS = 1  # CPU threads per job (onnxruntime, bands filled at once) unless the table says: one job per core
SUMMARY_FIELDS = ("id", "algorithm", "status", "seconds", "cpu_seconds", "target", "output", "worker", "error")
CRASH_HOOK = "CLOUD_REMOVAL_BATCH_TEST_CRASH"  # tests only: a file "<job id> once|always" kills the worker mid-job


def _value(text):
    """A CSV cell as a Python value: bool, int, float or the string."""
    if not isinstance(text, str):
        return text
    low = text.strip().lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    for kind in (int, float):
        try:
            return kind(low)
        except ValueError:
            pass
    return text.strip()


def _paths(value, base, as_list):
    if value in (None, ""):
        return None
    items = [v.strip() for v in value.split(";") if v.strip()] if isinstance(value, str) else list(value)
    items = [p if os.path.isabs(p) or "://" in p or p.startswith("/vsi") else os.path.join(base, p) for p in items]
    return items if as_list else items[0]


def make_job(row, number, base=""):
    """A job from one row of a table ({column: value}); InputError naming the row if it cannot be one."""
    row = {str(k).strip().lower(): v for k, v in row.items() if k is not None and v not in (None, "")}
    job_id = str(row.get("id", number))
    replacement = _paths(row.get("replacement"), base, True) or []
    name = str(row.get("algorithm") or ("cloud_mask" if not replacement else "slra_fill" if row.get("mask")
                                        else "multi_date_fill" if len(replacement) > 1 else "remove_clouds")).lower()
    if name not in ALGORITHMS:
        raise InputError(f"Job {job_id}: unknown algorithm '{name}'; use one of {sorted(ALGORITHMS)}.")
    function, target_arg, rep_arg, mask_arg, out_arg = ALGORITHMS[name]
    if not row.get("target") or not row.get("output"):
        raise InputError(f"Job {job_id}: give a target and an output.")
    args = {target_arg: _paths(row["target"], base, False), out_arg: _paths(row["output"], base, False)}
    if rep_arg:
        if not replacement:
            raise InputError(f"Job {job_id}: {name} needs a replacement.")
        args[rep_arg] = replacement if rep_arg in LIST_ARGS else replacement[0]
    if row.get("mask") and mask_arg:
        args[mask_arg] = _paths(row["mask"], base, False)
    accepted = set(inspect.signature(function).parameters) - {"progress", "log", "is_cancelled"}
    for key, value in row.items():
        if key in TABLE_KEYS:
            continue
        if key not in accepted:
            raise InputError(f"Job {job_id}: '{key}' is not a parameter of {name}; its parameters are "
                             f"{sorted(accepted - set(args))}.")
        args[key] = _paths(value, base, key in LIST_ARGS) if key in PATH_ARGS else _value(value)
    if "threads" in accepted and "threads" not in args:
        args["threads"] = BATCH_THREADS
    outputs = [args[out_arg]] + [args[k] for k in OUTPUT_ARGS if args.get(k) and k != out_arg]
    return {"id": job_id, "algorithm": name, "args": args, "outputs": outputs, "target": args[target_arg]}


def read_jobs(path):
    """The jobs of a CSV or JSON job table (JSON: a list of objects, or {"jobs": [...]}); a row that is not a valid
    job becomes a job with an "error" (reported as failed, not run)."""
    base = os.path.dirname(os.path.abspath(path))
    with open(path, newline="", encoding="utf-8") as f:
        if str(path).lower().endswith(".json"):
            data = json.load(f)
            rows = data.get("jobs", []) if isinstance(data, dict) else data
        else:
            rows = list(csv.DictReader(f))
    jobs = []
    for i, row in enumerate(rows, start=1):
        try:
            jobs.append(make_job(row, i, base))
        except InputError as err:  # reported as a failed job; the other jobs run
            keys = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
            jobs.append({"id": str(keys.get("id") or i), "algorithm": str(keys.get("algorithm") or ""),
                         "target": keys.get("target") or "", "outputs": [keys.get("output") or ""],
                         "error": str(err)})
    ids = [j["id"] for j in jobs]
    if len(set(ids)) != len(ids):
        raise InputError(f"The job ids in {path} are not unique.")
    return jobs


@gdal_scoped
def is_complete(job):
    """True when every output of the job exists and opens (outputs appear only when a run succeeded)."""
    for path in job["outputs"]:
        if not str(path).startswith("/vsi") and "://" not in str(path) and not os.path.isfile(path):
            return False
        try:
            open_raster(path, "output")
        except (InputError, RuntimeError, OSError):
            return False
    return True


def _crash_hook(job_id):
    """Tests only: the progress callback that kills this process (as a lost worker) halfway through the job."""
    marker = os.environ.get(CRASH_HOOK)
    if not marker:
        return None

    def on_progress(percent):
        try:
            with open(marker, encoding="utf-8") as f:
                who, mode = (f.read().split() + ["once"])[:2]
        except OSError:
            return
        if who == job_id and percent >= 50:
            if mode == "once":
                os.remove(marker)
            os._exit(17)

    return on_progress


def run_job(job, progress=None, log=None):
    """Run one job in this process; returns its summary row (status "ok" or "failed", never raises)."""
    row = {"id": job["id"], "algorithm": job["algorithm"], "target": job["target"], "output": job["outputs"][0],
           "worker": f"{socket.gethostname()}:{os.getpid()}", "error": ""}
    if job.get("error"):
        return dict(row, status="failed", seconds=0.0, cpu_seconds=0.0, error=job["error"], worker="")
    start, cpu = time.perf_counter(), time.process_time()
    try:
        ALGORITHMS[job["algorithm"]][0](**job["args"], progress=progress or _crash_hook(job["id"]), log=log)
        row["status"] = "ok"
    except (InputError, Cancelled) as err:
        row.update(status="failed", error=str(err))
    except MemoryError:
        row.update(status="failed", error="out of memory")
    except Exception as err:  # noqa: BLE001 (one job's failure must not stop the others)
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    row["seconds"] = round(time.perf_counter() - start, 3)
    row["cpu_seconds"] = round(time.process_time() - cpu, 3)  # all threads of this process (one job at a time)
    return row


def write_summary(rows, path):
    """Write the summary rows as JSON (a `.json` path) or CSV; atomically (written beside, then renamed)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        if str(path).lower().endswith(".json"):
            json.dump([{k: r.get(k, "") for k in SUMMARY_FIELDS} for r in rows], f, indent=1)
        else:
            writer = csv.DictWriter(f, SUMMARY_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    os.replace(tmp, path)
