"""An onnxruntime session for a model card, checked against the card; onnxruntime is imported only here, on use,
so the plugin loads without it and says how to install it."""

import contextvars
import os
import sys

import numpy as np

from .progress import InputError


def qgis_python(executable=None, prefix=None, base_prefix=None, platform=None, version=None, exists=None):
    """How to call the Python that QGIS itself runs, for install instructions.

    Inside QGIS, `sys.executable` is often not that Python: it is the QGIS binary, or whatever `python3` came first
    on PATH (a pyenv shim, a conda env). The interpreter is found from `sys.prefix` / `sys.base_prefix` instead:
    on Windows (OSGeo4W, the standalone installer) the command is meant for the OSGeo4W Shell, where `python` is
    QGIS's; on macOS and Linux it is `<prefix>/bin/python3.X` when that file exists. Arguments override the
    running interpreter's values (for tests).
    """
    executable = sys.executable if executable is None else executable
    prefix = sys.prefix if prefix is None else prefix
    base_prefix = getattr(sys, "base_prefix", prefix) if base_prefix is None else base_prefix
    platform = sys.platform if platform is None else platform
    version = tuple(sys.version_info[:2]) if version is None else tuple(version)
    exists = os.path.isfile if exists is None else exists
    if platform.startswith("win"):
        return "python"  # in the OSGeo4W Shell (Start menu) that QGIS's installer sets up
    sep = "/"
    for root in dict.fromkeys((prefix, base_prefix)):
        for name in (f"python{version[0]}.{version[1]}", f"python{version[0]}"):
            candidate = sep.join((root.rstrip(sep), "bin", name))
            if exists(candidate):
                return candidate
    base = (executable or "").replace("\\", sep).rsplit(sep, 1)[-1].lower()
    if executable and base.startswith("python") and "shims" not in executable and "pyenv" not in executable:
        return executable
    return f"python{version[0]}"


def pip_command(python=None):
    """The exact command that installs onnxruntime for QGIS's Python; numpy stays below 2 only where the installed
    numpy is 1.x (Debian 12's GDAL and scipy break with numpy 2; newer QGIS ship numpy 2)."""
    exe = qgis_python() if python is None else python
    try:
        import numpy

        keep = ' "numpy<2"' if int(numpy.__version__.split(".")[0]) < 2 else ""
    except ImportError:
        keep = ""
    where = "In the OSGeo4W Shell: " if exe == "python" and sys.platform.startswith("win") else ""
    return f'{where}{exe} -m pip install --user "onnxruntime>=1.16"{keep}'


def import_onnxruntime():
    """The onnxruntime module, or InputError with the pip command that installs it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise InputError(f"The Python package onnxruntime is needed to run the cloud model but cannot be imported "
                         f"({err}). Install it for QGIS's Python with:  {pip_command()}  and restart QGIS. "
                         "(On Debian/Ubuntu add --break-system-packages.)") from None
    return onnxruntime


class OnnxModel:
    """Runs batches of (N, bands, tile, tile) float32 through a card's ONNX model on the CPU."""

    def __init__(self, card, path, threads=0):
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or 0)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise InputError(f"onnxruntime cannot load the model '{path}': {str(err).splitlines()[0][:300]}. "
                             "Check that it is an ONNX file and not damaged (reinstall the package that carries "
                             "it).") from None
        self.card = card
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        names = [i.name for i in inputs]
        self.input_name = card.input_name if card.input_name in names else None
        if self.input_name is None or len(inputs) != 1:
            raise InputError(f"The model '{path}' does not fit its card: it has inputs {names}, the card expects one "
                             f"input named '{card.input_name}'.")
        outs = [o.name for o in outputs]
        self.output_name = card.output_name if card.output_name in outs else (outs[0] if len(outs) == 1 else None)
        if self.output_name is None:
            raise InputError(f"The model '{path}' has outputs {outs}; its card names '{card.output_name}'.")
        shape = inputs[0].shape
        want = [None, len(card.bands), card.tile_size, card.tile_size]
        if len(shape) != 4 or any(isinstance(s, int) and w is not None and s != w for s, w in zip(shape, want)):
            raise InputError(f"The model '{path}' expects input shape {shape}, but its card describes "
                             f"[N, {len(card.bands)}, {card.tile_size}, {card.tile_size}] ({len(card.bands)} bands "
                             f"{card.bands}, tile {card.tile_size}). Fix the card's 'input' section.")
        out_shape = next(o.shape for o in outputs if o.name == self.output_name)
        if len(out_shape) != 4 or (isinstance(out_shape[1], int) and out_shape[1] != len(card.classes)):
            raise InputError(f"The model '{path}' has output shape {out_shape}, but its card lists "
                             f"{len(card.classes)} classes; the output must be [N, classes, H, W].")

    def __call__(self, batch):
        """(N, classes, tile, tile) float32 scores for a (N, bands, tile, tile) batch."""
        out = self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]
        if out.shape[1] != len(self.card.classes) or out.shape[2:] != batch.shape[2:]:
            raise InputError(f"The model returned shape {list(out.shape)} for input {list(batch.shape)}; expected "
                             f"[N, {len(self.card.classes)}, {batch.shape[2]}, {batch.shape[3]}].")
        return out.astype(np.float32, copy=False)


PROVIDER = "CPUExecutionProvider"
_SESSIONS = {}  # (model path, provider, threads, card id) -> OnnxModel; used only inside `reuse_sessions`
_REUSE = contextvars.ContextVar("cloud_removal_reuse_sessions", default=False)


def load_model(card, path, threads=0):
    """The card's model: a new OnnxModel, or inside `reuse_sessions` the one this process already loaded.

    A worker of a batch (one process, many scenes) loads each model once; the QGIS plugin, which never enters
    `reuse_sessions`, keeps no session after a run.
    """
    if not _REUSE.get():
        return OnnxModel(card, path, threads)
    key = (os.path.realpath(str(path)), PROVIDER, int(threads or 0), card.id)
    if key not in _SESSIONS:
        _SESSIONS[key] = OnnxModel(card, path, threads)
    return _SESSIONS[key]


class reuse_sessions:  # noqa: N801 (used like a function: `with reuse_sessions():`)
    """While active (in this thread or task), `load_model` keeps one session per model path, provider and thread
    count in this process, so that many runs in one process (a batch worker) load each model once."""

    def __enter__(self):
        self._token = _REUSE.set(True)
        return self

    def __exit__(self, exc_type, exc, tb):
        _REUSE.reset(self._token)
        return False


def cached_sessions():
    """How many model sessions this process keeps (for tests and logs)."""
    return len(_SESSIONS)
