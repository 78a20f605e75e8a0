"""Private working folders: outputs are written under their final names in a hidden folder beside the destination
and moved into place only when the whole run succeeds.

Working in a folder (not a renamed file) keeps every side file a format writes (ENVI/EHdr headers, `.prj`,
`.aux.xml`) under its final name, and one `rmtree` removes all of it on failure. Each folder's name carries the
host and process id of its run, so the next run into the same place removes what a killed run (SIGKILL, power
loss) left behind, while the folders of runs still alive are left alone.
"""

import os
import re
import shutil
import socket
import uuid

OUTPUT_PREFIX = ".cloudremoval-"
OUTPUT_SUFFIX = ".partial"
SCRATCH_PREFIX = "cloudremoval_scratch_"


def _host():
    return re.sub(r"[^A-Za-z0-9]+", "", socket.gethostname())[:32] or "host"


def pid_alive(pid):
    """True when a process with this id exists on this machine (or cannot be checked)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale(folder, prefix=OUTPUT_PREFIX, suffix=OUTPUT_SUFFIX):
    """Remove this host's working folders in `folder` whose process no longer exists; returns their names."""
    pattern = re.compile(re.escape(prefix) + r"(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-[0-9a-f]+" + re.escape(suffix) + "$")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    host = _host()
    for name in names:
        m = pattern.match(name)
        if m and m.group("host") == host and not pid_alive(int(m.group("pid"))):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
            removed.append(name)
    return removed


def private_dir(folder, prefix=OUTPUT_PREFIX, suffix=OUTPUT_SUFFIX):
    """A new empty folder in `folder` named for this run (stale ones of dead runs are removed first)."""
    remove_stale(folder, prefix, suffix)
    path = os.path.join(folder, f"{prefix}{_host()}-{os.getpid()}-{uuid.uuid4().hex[:12]}{suffix}")
    os.mkdir(path, 0o700)
    return path


class Staging:
    """One destination file: `staged` is where to write it; `commit()` moves it (and its side files) into place.

    Side files of an earlier output at the destination that this run does not write again (its `.aux.xml`) are
    removed at commit, since they describe the file being replaced.
    """

    def __init__(self, path):
        self.path = os.path.abspath(str(path))
        self.folder = os.path.dirname(self.path)
        self.dir = private_dir(self.folder)
        self.staged = os.path.join(self.dir, os.path.basename(self.path))

    def files(self):
        """Names of the files written so far."""
        return sorted(os.listdir(self.dir)) if self.dir and os.path.isdir(self.dir) else []

    def commit(self):
        """Move every staged file to the destination folder (main file last), then remove the working folder."""
        names = self.files()
        main = os.path.basename(self.path)
        if main not in names:
            raise OSError(f"the output '{self.path}' was not written")
        for name in sorted(names, key=lambda n: n == main):
            os.replace(os.path.join(self.dir, name), os.path.join(self.folder, name))
        aux = self.path + ".aux.xml"
        if main + ".aux.xml" not in names and os.path.isfile(aux):
            os.remove(aux)
        self.abort()

    def abort(self):
        """Remove the working folder and everything in it."""
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
