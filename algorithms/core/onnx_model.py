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


# EXECUTION_PROVIDER names, in the order "auto" tries them: (name, onnxruntime provider, how to get it)
PROVIDERS = (
    ("CUDA", "CUDAExecutionProvider", "onnxruntime-gpu (Linux or Windows with an NVIDIA GPU and CUDA 12)"),
    ("DirectML", "DmlExecutionProvider", "onnxruntime-directml (Windows, any DirectX 12 GPU)"),
    ("CoreML", "CoreMLExecutionProvider", "onnxruntime (the macOS wheels include CoreML)"),
    ("CPU", "CPUExecutionProvider", "onnxruntime"),
)
PROVIDER_NAMES = ("auto",) + tuple(p[0] for p in PROVIDERS)


def choose_providers(requested="auto", available=None):
    """The onnxruntime providers to create a session with, best first, CPU last.

    Parameters
    ----------
    requested : str
        "auto" (CUDA, then DirectML, then CoreML, then CPU: the first that `available` lists) or one of
        PROVIDER_NAMES (case-insensitive; onnxruntime's own names such as "CUDAExecutionProvider" also work).
    available : list of str, optional
        onnxruntime.get_available_providers(); asked from onnxruntime when not given.

    Returns
    -------
    list of str
        onnxruntime provider names, e.g. ["CUDAExecutionProvider", "CPUExecutionProvider"].

    Raises
    ------
    InputError
        When the requested provider is unknown or not in `available`, naming what is available and the pip
        package that brings the requested one.
    """
    if available is None:
        available = import_onnxruntime().get_available_providers()
    text = str(requested or "auto").strip()
    if text.lower() == "auto":
        chosen = [ort for _, ort, _ in PROVIDERS if ort in available][:1]
    else:
        match = [p for p in PROVIDERS if text.lower() in (p[0].lower(), p[1].lower())]
        if not match:
            raise InputError(f"EXECUTION_PROVIDER must be one of {list(PROVIDER_NAMES)}, not '{requested}'.")
        name, ort, package = match[0]
        if ort not in available:
            raise InputError(f"The execution provider {name} ({ort}) is not available in this onnxruntime; it has "
                             f"{', '.join(available) or 'none'}. Install {package} for QGIS's Python instead of "
                             f"onnxruntime (pip uninstall onnxruntime, then pip install the other package), or set "
                             "EXECUTION_PROVIDER to auto.")
        chosen = [ort]
    return chosen + [p for p in ("CPUExecutionProvider",) if p in available and p not in chosen]


class OnnxModel:
    """Runs batches of (N, bands, tile, tile) float32 through a card's ONNX model on the chosen execution provider;
    `providers` are those the session actually uses (onnxruntime.InferenceSession.get_providers()). When the first
    provider asked for does not start, `strict` raises InputError, else `fallback` says so (for the log)."""

    def __init__(self, card, path, threads=0, providers=None, strict=False):
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or 0)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        wanted = list(providers) if providers else choose_providers("auto", ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=wanted)
        except Exception as err:  # onnxruntime raises its own exception types
            raise InputError(f"onnxruntime cannot load the model '{path}': {str(err).splitlines()[0][:300]}. "
                             "Check that it is an ONNX file and not damaged (reinstall the package that carries "
                             "it).") from None
        self.providers = list(self.session.get_providers())
        self.fallback = None
        if self.providers[:1] != wanted[:1]:  # e.g. CUDA listed but its libraries missing: onnxruntime falls back
            self.fallback = (f"{wanted[0]} could not start (missing GPU driver or libraries?), onnxruntime runs on "
                             f"{self.providers[0]}")
        if self.fallback and strict:
            raise InputError(f"onnxruntime could not start the {wanted[0]} execution provider (it runs on "
                             f"{', '.join(self.providers)}); check the GPU driver and the libraries that "
                             f"{wanted[0]} needs, or set EXECUTION_PROVIDER to CPU.")
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


_SESSIONS = {}  # (model path, providers, strict, threads, card id) -> OnnxModel; only inside `reuse_sessions`
_REUSE = contextvars.ContextVar("cloud_removal_reuse_sessions", default=False)


def load_model(card, path, threads=0, providers=None, strict=False):
    """The card's model: a new OnnxModel, or inside `reuse_sessions` the one this process already loaded with the
    same providers and thread count.

    A worker of a batch (one process, many scenes) loads each model once; the QGIS plugin, which never enters
    `reuse_sessions`, keeps no session after a run.
    """
    if not _REUSE.get():
        return OnnxModel(card, path, threads, providers, strict)
    key = (os.path.realpath(str(path)), tuple(providers or ()), bool(strict), int(threads or 0), card.id)
    if key not in _SESSIONS:
        _SESSIONS[key] = OnnxModel(card, path, threads, providers, strict)
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
