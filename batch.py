"""Batch runner: a job table (CSV or JSON) run on a dask.distributed cluster, one task per scene.

    python3 -m cloud_removal.batch jobs.csv --workers 2          # from the folder that holds cloud_removal/
    python3 tools/batch.py jobs.csv --scheduler tcp://host:8786  # from a clone under any folder name

Each job runs the Python API (`algorithms/core/api.py`) in a worker process; its status, time and error go to the
summary file (CSV, or JSON when its name ends in .json). A failed job does not stop the others and leaves no
output; a worker that dies during a job is replaced and the job run again on another (`--retries`), else reported.
Jobs whose outputs all exist are skipped, so running the same table again finishes what is left. dask and
distributed are optional: without them this says how to install them; the plugin does not need them.
"""

import argparse
import importlib
import importlib.util
import os
import sys
import time
import uuid

PACKAGE = "cloud_removal"
PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))


def ensure_package(plugin_dir=PLUGIN_DIR):
    """Import the plugin as the package `cloud_removal`, whatever its folder is called (a clone of the repository
    under another name). Runs in the batch command and in every worker, before the first job."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    if importlib.util.find_spec(PACKAGE) is not None:
        return importlib.import_module(PACKAGE)
    spec = importlib.util.spec_from_file_location(PACKAGE, os.path.join(plugin_dir, "__init__.py"),
                                                  submodule_search_locations=[plugin_dir])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def require_distributed():
    """The distributed module, or ImportError with the command that installs it for this Python."""
    try:
        import distributed
    except ImportError as err:
        try:
            import numpy

            keep = ' "numpy<2"' if int(numpy.__version__.split(".")[0]) < 2 else ""
        except ImportError:
            keep = ""
        raise ImportError(
            f"The batch runner needs dask.distributed, which cannot be imported here ({err}). Install it for this "
            f'Python with:  {sys.executable} -m pip install --user "dask[distributed]"{keep}  (on Debian/Ubuntu '
            "add --break-system-packages). The QGIS plugin itself does not need it.") from None
    return distributed


def run_on_worker(plugin_dir, job):
    """One job in a worker process (shipped by value, so a worker needs only the plugin folder at `plugin_dir`)."""
    ensure_package(plugin_dir)
    from cloud_removal.algorithms.core.batch_jobs import run_job

    row = run_job(job)
    try:
        from distributed import get_worker

        row["worker"] = get_worker().address
    except (ImportError, ValueError):
        pass
    return row


def _cleanup(job):
    """Remove what a dead worker on this machine left in the job's output folders (its private working folders)."""
    from cloud_removal.algorithms.core.staging import remove_stale

    for folder in {os.path.dirname(os.path.abspath(p)) for p in job["outputs"]}:
        remove_stale(folder)


def cluster_config(retries=2):
    """dask settings of a local cluster: a job runs again `retries` times when its worker dies; a worker gets a job
    only when its thread is free, so that a dying worker takes no queued job of another scene with it."""
    return {"distributed.scheduler.allowed-failures": int(retries), "distributed.scheduler.worker-saturation": 1.0}


def _client(distributed, address, workers):
    if address:
        return distributed.Client(address), None
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    return distributed.Client(cluster), cluster


def run_batch(jobs, address=None, workers=2, retries=2, force=False, summary=None, log=print, client=None):
    """Run `jobs` (from batch_jobs.read_jobs) on a cluster; returns the summary rows in table order.

    address: a scheduler ("tcp://host:8786"); None starts a LocalCluster of `workers` processes with one thread
    each. retries: how many times a job is run again when its worker dies (the LocalCluster's
    distributed.scheduler.allowed-failures; a remote scheduler uses its own setting). force: run complete jobs too.
    """
    distributed = require_distributed()
    import cloudpickle
    import dask

    ensure_package()
    from cloud_removal.algorithms.core.batch_jobs import is_complete, run_job, write_summary

    if __name__ != "__main__":  # workers may not have this module under this name: ship the task by value
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    rows = {}
    for job in jobs:
        if job.get("error"):
            rows[job["id"]] = run_job(job)  # not a valid job: reported without running
            log(f"job {job['id']}: failed: {job['error']}")
        elif not force and is_complete(job):
            rows[job["id"]] = {"id": job["id"], "algorithm": job["algorithm"], "target": job["target"],
                               "output": job["outputs"][0], "status": "skipped", "seconds": 0.0,
                               "error": "outputs complete"}
    todo = [job for job in jobs if job["id"] not in rows]
    done = len(rows)
    cluster = None
    with dask.config.set(cluster_config(retries)):
        if client is None and todo:
            client, cluster = _client(distributed, address, workers)
            own = client
        else:
            own = None
        try:
            start, token = time.perf_counter(), uuid.uuid4().hex[:8]
            futures = {client.submit(run_on_worker, PLUGIN_DIR, job, key=f"cloudremoval-{job['id']}-{token}",
                                     pure=False): job for job in todo}
            for future in distributed.as_completed(futures) if futures else ():
                job = futures[future]
                try:
                    row = future.result()
                except Exception as err:  # noqa: BLE001 (a lost worker: KilledWorker, or a cluster error)
                    _cleanup(job)
                    row = {"id": job["id"], "algorithm": job["algorithm"], "target": job["target"],
                           "output": job["outputs"][0], "status": "failed",
                           "seconds": round(time.perf_counter() - start, 3),
                           "error": f"{type(err).__name__}: {err} (the worker running it died; no output was "
                                    "kept)"}
                rows[job["id"]] = row
                done += 1
                log(f"[{done}/{len(jobs)}] job {row['id']}: {row['status']} in {row['seconds']} s"
                    + (f": {row['error']}" if row["status"] == "failed" else ""))
                if summary:
                    write_summary([rows[j["id"]] for j in jobs if j["id"] in rows], summary)
        finally:
            if own is not None:
                own.close()
            if cluster is not None:
                cluster.close()
    ordered = [rows[j["id"]] for j in jobs]
    if summary:
        write_summary(ordered, summary)
    return ordered


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m cloud_removal.batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("jobs", help="job table, .csv or .json")
    parser.add_argument("--scheduler", help="address of a running dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    parser.add_argument("--retries", type=int, default=2,
                        help="runs again of a job whose worker died (local cluster; default 2)")
    parser.add_argument("--summary", help="summary file, .csv or .json (default: <jobs>_summary.csv beside the table)")
    parser.add_argument("--force", action="store_true", help="run jobs whose outputs already exist too")
    args = parser.parse_args(argv)
    ensure_package()
    from cloud_removal.algorithms.core.batch_jobs import read_jobs
    from cloud_removal.algorithms.core.progress import InputError

    summary = args.summary or os.path.splitext(args.jobs)[0] + "_summary.csv"
    try:
        jobs = read_jobs(args.jobs)
        rows = run_batch(jobs, args.scheduler, args.workers, args.retries, args.force, summary)
    except (InputError, ImportError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "skipped", "failed")}
    print(f"{counts['ok']} ok, {counts['skipped']} skipped, {counts['failed']} failed; summary: {summary}")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
