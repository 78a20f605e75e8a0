"""The batch runner (batch.py, algorithms/core/batch_jobs.py) on a LocalCluster of 2 worker processes."""

import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import DATA, ROOT, leftovers

TS = DATA / "s2_t37mem_timeseries"
ONE_BAND = DATA / "s2_ukis_csmask_labelled" / "ukis_sentinel2_labels.tif"
MASKS = TS / "S2_T37MEM_masked_pixels.tif"


def ts(date):
    return str(TS / f"S2_T37MEM_{date}_sref20m.tif")


def table_rows(out):
    """4 small scenes: two whole chains, one fill with a given mask, one bad input (a 1-band replacement)."""
    chain = {"algorithm": "remove_clouds", "product_level": "L2A", "reflectance_scale": "0.001", "window_size": "40"}
    return [
        dict(chain, id="a", target=ts("20200101"), replacement=ts("20190615"), output=str(out / "a.tif")),
        dict(chain, id="b", target=ts("20180819"), replacement=ts("20190610"), output=str(out / "b.tif"),
             cloud_mask=str(out / "b_mask.tif")),
        {"id": "c", "algorithm": "slra_fill", "target": ts("20170829"), "replacement": ts("20190615"),
         "mask": str(MASKS), "mask_band": "8", "window_size": "40", "output": str(out / "c.tif")},
        dict(chain, id="bad", target=ts("20160918"), replacement=str(ONE_BAND), output=str(out / "bad.tif")),
    ]


def write_csv(path, rows):
    keys = sorted({k for r in rows for k in r})
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def marker(tmp_path_factory):
    """The test hook's file: '<job id> once|always' makes the worker running that job exit halfway."""
    return str(tmp_path_factory.mktemp("hook") / "crash")


@pytest.fixture(scope="module")
def client(marker):
    distributed = pytest.importorskip("distributed")
    import dask

    from cloud_removal.batch import cluster_config

    os.environ["CLOUD_REMOVAL_BATCH_TEST_CRASH"] = marker  # inherited by the worker processes
    with dask.config.set(cluster_config(1)):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                           silence_logs=50)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
    os.environ.pop("CLOUD_REMOVAL_BATCH_TEST_CRASH", None)


def digest(path):
    with open(path, "rb") as f:
        return f.read()


def test_four_scenes_equal_the_sequential_api_with_a_summary_and_rerun_skips(client, tmp_path):
    from cloud_removal import batch
    from cloud_removal.algorithms.core import batch_jobs

    (tmp_path / "cluster").mkdir()
    (tmp_path / "seq").mkdir()
    jobs = batch_jobs.read_jobs(write_csv(tmp_path / "jobs.csv", table_rows(tmp_path / "cluster")))
    summary = tmp_path / "summary.csv"
    lines = []
    rows = batch.run_batch(jobs, summary=str(summary), client=client, log=lines.append)
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "failed"]
    assert "1 band(s)" in rows[3]["error"] and len(lines) == 4
    assert len({r["worker"] for r in rows[:3]}) == 2  # both workers took jobs
    with open(summary, newline="") as f:
        written = list(csv.DictReader(f))
    assert [(r["id"], r["status"]) for r in written] == [("a", "ok"), ("b", "ok"), ("c", "ok"), ("bad", "failed")]
    assert all(float(r["seconds"]) > 0 for r in written[:3])
    for job in batch_jobs.read_jobs(write_csv(tmp_path / "seq.csv", table_rows(tmp_path / "seq")))[:3]:
        assert batch_jobs.run_job(job)["status"] == "ok"
        for path in job["outputs"]:
            assert digest(path) == digest(str(path).replace(str(tmp_path / "seq"), str(tmp_path / "cluster")))
    assert not (tmp_path / "cluster" / "bad.tif").exists() and leftovers(tmp_path / "cluster") == []
    again = batch.run_batch(jobs, summary=str(tmp_path / "again.json"), client=client, log=lines.append)
    assert [r["status"] for r in again] == ["skipped", "skipped", "skipped", "failed"]
    assert [r["status"] for r in json.loads((tmp_path / "again.json").read_text())] == [r["status"] for r in again]
    assert [r["status"] for r in batch.run_batch(jobs[:3], log=lines.append)] == ["skipped"] * 3  # no cluster


def test_a_model_session_is_loaded_once_per_worker(client, tmp_path):
    from cloud_removal import batch
    from cloud_removal.algorithms.core import batch_jobs

    rows = [{"algorithm": "cloud_mask", "id": str(i), "target": ts(date), "output": str(tmp_path / f"{i}.tif"),
             "product_level": "L2A", "scale": "0.001"} for i, date in enumerate(("20200101", "20180819") * 2)]
    batch.run_batch(batch_jobs.read_jobs(write_csv(tmp_path / "jobs.csv", rows)), client=client, log=print)

    def sessions():
        from cloud_removal.algorithms.core.onnx_model import cached_sessions

        return cached_sessions()

    counts = list(client.run(sessions).values())
    assert max(counts) == 1 and sum(counts) <= 2  # one per worker process, not one per job


def test_a_killed_worker_is_replaced_and_its_job_run_again(client, marker, tmp_path):
    from cloud_removal import batch
    from cloud_removal.algorithms.core import batch_jobs

    client.wait_for_workers(2)
    jobs = batch_jobs.read_jobs(write_csv(tmp_path / "jobs.csv", table_rows(tmp_path)[1:3]))
    with open(marker, "w") as f:
        f.write("b once")
    rows = batch.run_batch(jobs, client=client, log=print)
    assert not os.path.exists(marker)  # the hook fired: the first worker running job b exited halfway
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert leftovers(tmp_path) == []  # the second run removed what the dead worker had staged


def test_a_job_whose_worker_keeps_dying_is_reported_without_output(client, marker, tmp_path):
    from cloud_removal import batch
    from cloud_removal.algorithms.core import batch_jobs

    client.wait_for_workers(2)  # the worker killed in the test before has been replaced
    jobs = batch_jobs.read_jobs(write_csv(tmp_path / "jobs.csv", [table_rows(tmp_path)[i] for i in (0, 2)]))
    with open(marker, "w") as f:
        f.write("a always")
    scheduler = client.cluster.scheduler
    saved, scheduler.allowed_failures = scheduler.allowed_failures, 0  # no second run: report it
    try:
        rows = batch.run_batch(jobs, client=client, log=print)
    finally:
        scheduler.allowed_failures = saved
        os.remove(marker)
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert "KilledWorker" in rows[0]["error"]
    assert not (tmp_path / "a.tif").exists() and leftovers(tmp_path) == []


def test_job_tables_in_json_with_relative_paths_defaults_and_bad_rows(tmp_path):
    from cloud_removal.algorithms.core import batch_jobs

    (tmp_path / "jobs.json").write_text(json.dumps({"jobs": [
        {"target": ts("20200101"), "replacement": [ts("20190615"), ts("20190610")], "output": "out/m.tif",
         "window_size": 40, "scale": 0.001, "product_level": "L2A"},
        {"Target": ts("20200101"), "Replacement": ts("20190615"), "Output": "x.tif"},
        {"target": ts("20200101"), "output": "y.tif", "windw_size": 40},
    ]}))
    multi, chain, bad = batch_jobs.read_jobs(str(tmp_path / "jobs.json"))
    assert multi["algorithm"] == "multi_date_fill" and multi["id"] == "1"
    assert multi["args"]["output"] == str(tmp_path / "out" / "m.tif") and len(multi["args"]["replacements"]) == 2
    assert chain["algorithm"] == "remove_clouds" and chain["args"]["threads"] == 1
    assert chain["args"]["cloud_free"] == str(tmp_path / "x.tif")
    assert "windw_size" in bad["error"] and batch_jobs.run_job(bad)["status"] == "failed"
    assert not batch_jobs.is_complete(chain)


def test_without_distributed_the_runner_says_how_to_install_it(monkeypatch):
    from cloud_removal import batch

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r'pip install --user "dask\[distributed\]"'):
        batch.require_distributed()


def test_the_command_runs_from_a_clone_under_any_folder_name(tmp_path):
    pytest.importorskip("distributed")
    rows = [table_rows(tmp_path)[3]]  # one bad job: the command runs, reports it, and exits 1
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "batch.py"), write_csv(tmp_path / "j.csv", rows),
                           "--workers", "1", "--summary", str(tmp_path / "s.json")],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "0 ok, 0 skipped, 1 failed" in proc.stdout
    assert json.loads((tmp_path / "s.json").read_text())[0]["status"] == "failed"
