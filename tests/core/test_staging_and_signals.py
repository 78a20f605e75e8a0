"""Private working folders (commit, abort, removal of what killed runs left), scoped GDAL exception state and
SIGTERM/SIGINT handled as a cancel."""

import os
import signal
import subprocess
import sys

import pytest
from osgeo import gdal

from cloud_removal.algorithms.core import staging
from cloud_removal.algorithms.core.gdal_env import gdal_scope
from cloud_removal.algorithms.core.progress import Cancelled, Progress, stop_on_signals, stop_requested


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_commit_moves_every_file_and_replaces_an_earlier_output(tmp_path):
    (tmp_path / "out.bil").write_bytes(b"old")
    (tmp_path / "out.bil.aux.xml").write_text("<old/>")
    stage = staging.Staging(tmp_path / "out.bil")
    for name in ("out.bil", "out.hdr", "out.prj"):
        (tmp_path / stage.dir / name).write_text(name)
    stage.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bil", "out.hdr", "out.prj"]
    assert (tmp_path / "out.bil").read_text() == "out.bil"


def test_abort_leaves_the_destination_untouched(tmp_path):
    (tmp_path / "out.tif").write_bytes(b"old")
    stage = staging.Staging(tmp_path / "out.tif")
    (tmp_path / stage.dir / "out.tif").write_text("new")
    stage.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]
    assert (tmp_path / "out.tif").read_bytes() == b"old"


def test_folders_of_dead_runs_are_removed_live_and_foreign_ones_kept(tmp_path):
    host = staging._host()
    dead = tmp_path / f".cloudremoval-{host}-{dead_pid()}-abc123.partial"
    live = tmp_path / f".cloudremoval-{host}-{os.getpid()}-abc123.partial"
    other = tmp_path / f".cloudremoval-otherhost-{dead_pid()}-abc123.partial"
    user = tmp_path / "my.partial"
    for d in (dead, live, other, user):
        d.mkdir()
        (d / "x.tif").write_text("x")
    new = staging.private_dir(str(tmp_path))
    assert not dead.exists() and live.exists() and other.exists() and user.exists() and os.path.isdir(new)


def test_gdal_scope_restores_the_callers_exception_state():
    saved = gdal.GetUseExceptions()
    try:
        for state in (0, 1):
            (gdal.UseExceptions if state else gdal.DontUseExceptions)()
            with gdal_scope():
                assert gdal.GetUseExceptions() == 1
                with gdal_scope():
                    assert gdal.GetUseExceptions() == 1
                assert gdal.GetUseExceptions() == 1
            assert gdal.GetUseExceptions() == state
    finally:
        (gdal.UseExceptions if saved else gdal.DontUseExceptions)()


def test_gdal_scope_decodes_in_parallel_on_its_thread_only_and_keeps_a_users_setting():
    import threading

    assert gdal.GetConfigOption("GDAL_NUM_THREADS") is None
    seen = []
    with gdal_scope():
        assert gdal.GetConfigOption("GDAL_NUM_THREADS") == "ALL_CPUS"
        other = threading.Thread(target=lambda: seen.append(gdal.GetConfigOption("GDAL_NUM_THREADS")))
        other.start()
        other.join()
        with gdal_scope():
            assert gdal.GetConfigOption("GDAL_NUM_THREADS") == "ALL_CPUS"
        assert gdal.GetConfigOption("GDAL_NUM_THREADS") == "ALL_CPUS"
    assert seen == [None]  # another thread (QGIS's own work) does not see it
    assert gdal.GetConfigOption("GDAL_NUM_THREADS") is None
    gdal.SetConfigOption("GDAL_NUM_THREADS", "1")
    try:
        with gdal_scope():
            assert gdal.GetConfigOption("GDAL_NUM_THREADS") == "1"
        assert gdal.GetConfigOption("GDAL_NUM_THREADS") == "1"
    finally:
        gdal.SetConfigOption("GDAL_NUM_THREADS", None)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_run_stops_it_like_a_cancel_and_handlers_are_restored(sig):
    before = signal.getsignal(sig)
    called = []
    with stop_on_signals(lambda: called.append(1)):
        os.kill(os.getpid(), sig)
        with pytest.raises(Cancelled, match=signal.Signals(sig).name):
            Progress().update(0.5)
    assert called == [1]
    assert signal.getsignal(sig) is before
    assert stop_requested() is None
    Progress().update(0.5)  # the next run is not stopped
