"""Model cards: small JSON files describing an ONNX cloud model (bands, normalisation, tiling, classes, sha256).

They let the plugin run any segmentation model without code changes and check the weights before use.
"""

import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field

from .onnx_model import qgis_python
from .postprocess import parse_postprocess
from .progress import InputError

CARD_FORMAT = "cloudremoval-model-card/1"
MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
ROLES = ("blue", "green", "red", "nir", "swir16", "swir22")
S2_IDS = ("b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b8a", "b09", "b10", "b11", "b12")
KINDS = ("segmentation", "pixel")
LEVELS = ("L1C", "L2A")
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class ModelCard:
    """A validated model card; `onnx_path` is resolved to an existing file (or None if not found yet)."""

    id: str
    title: str
    path: str
    onnx: str
    sha256: str
    bands: list
    mean: list
    std: list
    tile_size: int
    overlap: float
    classes: list
    cloud_classes: list
    product_level: str = ""
    input_name: str = "input"
    output_name: str = "output"
    output_kind: str = "logits"
    reflectance_range: tuple = (0.0, 1.0)
    licence: str = ""
    citation: str = ""
    source: dict = field(default_factory=dict)
    kind: str = "segmentation"
    postprocess: object = None  # postprocess.PostProcess or None
    default: bool = True  # may be chosen when MODEL is empty
    accuracy: dict = field(default_factory=dict)
    onnx_path: str = None

    @property
    def class_names(self):
        """Names indexed by class value (gaps get an empty name), for raster category names."""
        names = [""] * (max(c["value"] for c in self.classes) + 1)
        for c in self.classes:
            names[c["value"]] = c["name"]
        return names

    @property
    def colours(self):
        """{value: (r, g, b)} from the cards' hex colours."""
        return {c["value"]: tuple(int(c["colour"][i:i + 2], 16) for i in (1, 3, 5)) for c in self.classes}


def _fail(path, message):
    raise InputError(f"Model card '{path}' is invalid: {message}. See the README section "
                     "'Models and model cards' for the format.")


def _number_list(path, d, key, n, positive=False):
    values = d.get(key)
    if not isinstance(values, list) or len(values) != n or not all(isinstance(v, (int, float)) for v in values):
        _fail(path, f"'{key}' must be a list of {n} numbers, one per input band")
    if positive and any(v <= 0 for v in values):
        _fail(path, f"every value of '{key}' must be > 0")
    return [float(v) for v in values]


def parse_card(data, path="<card>"):
    """Validate a card dictionary and return a ModelCard; InputError names the first problem found."""
    if not isinstance(data, dict):
        _fail(path, "it must be a JSON object")
    if data.get("format") != CARD_FORMAT:
        _fail(path, f"'format' must be \"{CARD_FORMAT}\"")
    for key in ("id", "title", "onnx", "sha256"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            _fail(path, f"'{key}' must be a non-empty string")
    if not _SHA256.match(data["sha256"]):
        _fail(path, "'sha256' must be 64 lower-case hexadecimal digits (the output of sha256sum on the ONNX file)")
    inp = data.get("input")
    if not isinstance(inp, dict):
        _fail(path, "'input' must be an object with 'bands', 'mean', 'std' and 'tile_size'")
    bands = inp.get("bands")
    if not isinstance(bands, list) or not bands or not all(isinstance(b, str) for b in bands):
        _fail(path, "'input.bands' must be a non-empty list of band names")
    bands = [b.lower() for b in bands]
    unknown = [b for b in bands if b not in ROLES + S2_IDS]
    if unknown:
        _fail(path, f"unknown band name(s) {unknown} in 'input.bands'; use names from {list(ROLES)} or Sentinel-2 "
                    "band ids (B01 ... B12, B8A)")
    if len(set(bands)) != len(bands):
        _fail(path, "'input.bands' names a band twice")
    mean = _number_list(path, inp, "mean", len(bands))
    std = _number_list(path, inp, "std", len(bands), positive=True)
    if inp.get("layout", "NCHW") != "NCHW":
        _fail(path, "'input.layout' must be \"NCHW\" (batch, bands, rows, columns), the only layout supported")
    tile = inp.get("tile_size")
    if not isinstance(tile, int) or isinstance(tile, bool) or not 16 <= tile <= 4096:
        _fail(path, "'input.tile_size' must be an integer from 16 to 4096")
    rng = inp.get("reflectance_range", [0.0, 1.0])
    if (not isinstance(rng, list) or len(rng) != 2 or not all(isinstance(v, (int, float)) for v in rng)
            or rng[1] <= rng[0]):
        _fail(path, "'input.reflectance_range' must be [low, high] with low < high")
    tiling = data.get("tiling", {})
    overlap = tiling.get("overlap", 0.2) if isinstance(tiling, dict) else None
    if not isinstance(overlap, (int, float)) or not 0 <= overlap < 0.5:
        _fail(path, "'tiling.overlap' must be a number from 0 to below 0.5 (a share of the tile size)")
    out = data.get("output", {})
    out_kind = out.get("kind", "logits") if isinstance(out, dict) else None
    if out_kind not in ("logits", "probabilities"):
        _fail(path, "'output.kind' must be \"logits\" or \"probabilities\"")
    classes = data.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        _fail(path, "'classes' must list at least two classes")
    for i, c in enumerate(classes):
        if (not isinstance(c, dict) or not isinstance(c.get("value"), int) or isinstance(c.get("value"), bool)
                or not isinstance(c.get("name"), str) or not isinstance(c.get("colour"), str)):
            _fail(path, f"class {i} must have an integer 'value', a 'name' and a 'colour'")
        if c["value"] != i:
            _fail(path, f"class values must be 0, 1, 2, ... in the order of the model's output channels "
                        f"(class {i} has value {c['value']})")
        if not _HEX_COLOUR.match(c["colour"]):
            _fail(path, f"the colour of class {i} must look like \"#rrggbb\"")
    if len(classes) > 255:
        _fail(path, "at most 255 classes are supported (255 is the output nodata value)")
    cloud = data.get("cloud_classes", [])
    if not isinstance(cloud, list) or any(not isinstance(v, int) or not 0 <= v < len(classes) for v in cloud):
        _fail(path, "'cloud_classes' must list class values of 'classes'")
    kind = data.get("kind", "segmentation")
    if kind not in KINDS:
        _fail(path, f"'kind' must be one of {list(KINDS)} (a per-pixel model still takes and returns NCHW tiles)")
    if not isinstance(data.get("default", True), bool):
        _fail(path, "'default' must be true or false (false: only used when MODEL names it)")
    try:
        post = parse_postprocess(data.get("postprocess"), len(classes), cloud)
    except ValueError as err:
        _fail(path, str(err))
    level = str(data.get("product_level", "")).upper()
    if level and level not in LEVELS:
        _fail(path, f"'product_level' must be one of {list(LEVELS)}")
    return ModelCard(
        id=data["id"], title=data["title"], path=str(path), onnx=data["onnx"], sha256=data["sha256"],
        bands=bands, mean=mean, std=std, tile_size=tile, overlap=float(overlap), classes=classes,
        cloud_classes=list(cloud), product_level=level, input_name=str(inp.get("name", "input")),
        output_name=str(out.get("name", "output")), output_kind=out_kind,
        reflectance_range=(float(rng[0]), float(rng[1])), licence=str(data.get("licence", "")),
        citation=str(data.get("citation", "")), source=dict(data.get("source", {}) or {}), kind=kind,
        postprocess=post, default=data.get("default", True), accuracy=dict(data.get("accuracy", {}) or {}))


def load_card(path):
    """Read and validate a card file; its ONNX file is looked up (see onnx_search_dirs) but not hashed."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        raise InputError(f"Cannot read the model card '{path}': {err.strerror}.") from None
    except ValueError as err:
        raise InputError(f"The model card '{path}' is not valid JSON: {err}.") from None
    card = parse_card(data, path)
    card.onnx_path = find_onnx(card)
    return card


def installed_package_dir(package="ukis_csmask"):
    """The folder of an installed Python package, found without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def onnx_search_dirs(card):
    """Where a card's ONNX file may be: beside the card, in models/<package>/, in the installed package."""
    card_dir = os.path.dirname(os.path.abspath(card.path))
    dirs = [card_dir]
    package = card.source.get("module")
    if package:
        dirs.append(os.path.join(card_dir, package))
        dirs.append(os.path.join(MODELS_DIR, package))
        pkg_dir = installed_package_dir(package)
        if pkg_dir:
            dirs.append(pkg_dir)
    return list(dict.fromkeys(dirs))


def find_onnx(card):
    """Absolute path of the card's ONNX file, or None when it is in none of the search folders."""
    if os.path.isabs(card.onnx):
        return card.onnx if os.path.isfile(card.onnx) else None
    for d in onnx_search_dirs(card):
        candidate = os.path.join(d, card.onnx)
        if os.path.isfile(candidate):
            return candidate
    return None


_HASHES = {}


def file_sha256(path):
    """sha256 hex digest of a file, cached by path, size and modification time."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def verify_onnx(card):
    """Raise InputError unless the card's ONNX file exists and matches its sha256; returns the path."""
    if not card.onnx_path:
        where = ", ".join(onnx_search_dirs(card))
        hint = (f"It is built from the {card.source.get('package')} {card.source.get('version', '')} package when "
                "the plugin is set up from its source (`make models`), and this installation does not include it: "
                "choose another MODEL (for example ukis-csmask-6b-l1c)."
                if card.source.get("build") else
                "Install the package that carries it for QGIS's Python: "
                f"`{qgis_python()} -m pip install --user ukis-csmask==1.0.0`, then restart QGIS."
                if card.source.get("package") else "Put the ONNX file beside the card.")
        raise InputError(f"The ONNX file '{card.onnx}' of model '{card.id}' was not found (looked in {where}). {hint}")
    digest = file_sha256(card.onnx_path)
    if digest != card.sha256:
        raise InputError(f"The ONNX file '{card.onnx_path}' does not match its model card '{card.path}': sha256 is "
                         f"{digest}, the card expects {card.sha256}. Use the file the card was written for, or "
                         "update 'sha256' in the card if you replaced the model on purpose.")
    return card.onnx_path


def builtin_cards(models_dir=MODELS_DIR):
    """All valid cards shipped in models/ (sorted by file name)."""
    cards = []
    if os.path.isdir(models_dir):
        for name in sorted(os.listdir(models_dir)):
            if name.endswith(".json"):
                cards.append(load_card(os.path.join(models_dir, name)))
    return cards


def default_card(level, roles, models_dir=MODELS_DIR):
    """The shipped card for a product level that uses the most of the mapped band roles.

    Among cards whose bands are all mapped, the one with the most bands wins (6-band before 4-band).
    """
    level = level.upper()
    usable = [c for c in builtin_cards(models_dir)
              if c.default and c.product_level == level and all(b in roles for b in c.bands)]
    if not usable:
        missing = [r for r in ROLES[:4] if r not in roles]
        raise InputError(f"No shipped {level} model can run with the mapped bands {sorted(roles)}: at least "
                         f"blue, green, red and nir are needed (missing: {missing}). Set the band parameters "
                         "(BLUE_BAND, GREEN_BAND, RED_BAND, NIR_BAND) to the right band numbers.")
    return max(usable, key=lambda c: len(c.bands))


def resolve_card(model, level, roles, models_dir=MODELS_DIR):
    """The card for the MODEL parameter: empty → default for level and bands; a card id; a card .json; an .onnx.

    An .onnx path needs a card beside it named `<stem>.card.json` or `<stem>.json`, or must be the weights of a
    shipped card.
    """
    if not model:
        return default_card(level, roles, models_dir)
    model = str(model)
    if not os.path.exists(model):
        cards = builtin_cards(models_dir)
        for card in cards:
            if card.id == model:
                return card
        raise InputError(f"MODEL '{model}' is neither an existing file nor the id of a shipped model card "
                         f"({', '.join(c.id for c in cards)}).")
    if model.lower().endswith(".onnx"):
        return _card_for_onnx(model, models_dir)
    return load_card(model)


def _is_card(path):
    """True when a JSON file declares the card format (the JSON files ukis-csmask ships beside its models do not)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("format") == CARD_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _card_for_onnx(model, models_dir):
    """The card of an ONNX file: `<stem>.card.json` or a card `<stem>.json` beside it, else the shipped card whose
    weights are this very file (so the models under models/ukis_csmask/ can be chosen directly)."""
    stem = os.path.splitext(model)[0]
    for cand in (stem + ".card.json", stem + ".json"):
        if os.path.isfile(cand) and _is_card(cand):
            card = load_card(cand)
            card.onnx_path = os.path.abspath(model)
            return card
    real = os.path.realpath(model)
    for card in builtin_cards(models_dir):
        if card.onnx_path and os.path.realpath(card.onnx_path) == real:
            return card
    raise InputError(f"The ONNX model '{model}' has no model card: write '{stem}.card.json' beside it (format in "
                     "the README, 'Models and model cards') describing its bands, normalisation and classes, or "
                     "give the card (.json) or a shipped card id as MODEL.")
