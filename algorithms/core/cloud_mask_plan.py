"""The plan of Generate Cloud Mask: every input (bands, model card and weights, scale, processing resolution,
output paths) resolved and checked before anything is written."""

import math
from dataclasses import dataclass, field

import numpy as np
from osgeo import osr

from . import band_mapping, model_card
from .gdal_env import gdal_scoped
from .onnx_model import choose_providers
from .progress import InputError
from .raster_formats import check_outputs
from .raster_io import Window, band_nodata, numpy_dtype, open_raster, read_window
from .shadow_check import plan_shadow_check

METRES_PER_DEGREE = 111320.0
MAX_FACTOR = 16        # coarsest processing grid: 16 x 16 input pixels per model pixel
LOW_P99, HIGH_P99 = 0.05, 1.5  # scaled reflectance whose 99th percentile lies outside looks wrongly scaled


@dataclass
class CloudMaskPlan:
    """Everything a run needs, resolved and checked; `notes` are lines for the log."""

    input_path: str
    card: object
    bands: list  # 1-based input band per card band, in the card's order
    roles: dict
    scale: float
    offset: float
    nodata: list  # declared nodata per card band (or None)
    factor: int
    overlap: float
    batch_size: int
    threads: int
    width: int
    height: int
    notes: list = field(default_factory=list)
    provider: str = "auto"  # EXECUTION_PROVIDER as asked
    providers: list = None  # onnxruntime providers to start the session with, best first
    shadow: object = None   # shadow_check.ShadowPlan, or None for the model's classes as they are


def _band_wavelengths(ds):
    """{band: nm} from CENTRAL_WAVELENGTH_NM / wavelength metadata, when every band has one."""
    out = {}
    for b in range(1, ds.RasterCount + 1):
        md = ds.GetRasterBand(b).GetMetadata() or {}
        value = md.get("CENTRAL_WAVELENGTH_NM") or md.get("wavelength")
        try:
            nm = float(value)
        except (TypeError, ValueError):
            return {}
        units = (md.get("wavelength_units") or "nm").lower()
        out[b] = nm * 1000.0 if units.startswith(("µm", "um", "micro")) else nm
    return out


def pixel_size_m(ds):
    """The input pixel size in metres (the larger of x and y), or None without a usable georeference."""
    gt = ds.GetGeoTransform(can_return_null=True)
    if gt is None or gt == (0.0, 1.0, 0.0, 0.0, 0.0, 1.0):
        return None
    size = max(math.hypot(gt[1], gt[4]), math.hypot(gt[2], gt[5]))
    srs_wkt = ds.GetProjection()
    if not srs_wkt:
        return None
    srs = osr.SpatialReference(wkt=srs_wkt)
    if srs.IsGeographic():
        return size * METRES_PER_DEGREE
    return size * (srs.GetLinearUnits() or 1.0)


def processing_factor(ds, resolution_m):
    """Integer coarsening factor for a processing resolution in metres (0: input resolution) and a note.

    InputError when the resolution is negative or more than MAX_FACTOR input pixels: the model would see a few
    blurred pixels and call them clear.
    """
    if resolution_m is not None and resolution_m < 0:
        raise InputError(f"PROCESSING_RESOLUTION must be 0 (input resolution) or a size in metres; got "
                         f"{resolution_m:g}.")
    if not resolution_m:
        return 1, "processing at the input resolution"
    size = pixel_size_m(ds)
    if size is None:
        return 1, (f"the input has no usable georeference, so its pixel size is unknown: processing at the input "
                   f"resolution instead of {resolution_m:g} m")
    factor = max(1, int(round(resolution_m / size)))
    if factor > MAX_FACTOR:
        raise InputError(f"PROCESSING_RESOLUTION {resolution_m:g} m is too coarse for this input ({size:g} m pixels): "
                         f"the model would see {factor} x {factor} input pixels as one. Use at most "
                         f"{size * MAX_FACTOR:g} m, or 0 for the input resolution (the default is 20).")
    if factor == 1:
        return 1, f"processing at the input resolution ({size:g} m; requested {resolution_m:g} m)"
    return factor, (f"processing at {size * factor:g} m ({factor} x {factor} input pixels of {size:g} m averaged), "
                    "mask written on the input grid")


def _band_scaling(ds, bands):
    """(scale, offset) from the bands' own GDAL scale/offset metadata when all agree and one is set, else None."""
    pairs = set()
    for b in bands:
        band = ds.GetRasterBand(b)
        pairs.add((band.GetScale(), band.GetOffset()))
    if len(pairs) != 1:
        return None
    scale, offset = pairs.pop()
    scale = 1.0 if scale is None else float(scale)
    offset = 0.0 if offset is None else float(offset)
    return None if (scale, offset) == (1.0, 0.0) else (scale, offset)


def sample_reflectance_p99(ds, bands, nodata, scale, offset, grid=4, size=128):
    """99th percentile of the scaled reflectance over a grid x grid sample of small windows (valid, non-zero
    pixels of the given bands), or None when the sample holds no valid pixel. Cheap on any scene size."""
    w, h = ds.RasterXSize, ds.RasterYSize
    sw, sh = min(size, w), min(size, h)
    values = []
    for y in np.linspace(0, h - sh, grid).astype(int):
        for x in np.linspace(0, w - sw, grid).astype(int):
            win = Window(int(x), int(y), sw, sh)
            raw = np.stack([read_window(ds, b, win).astype(np.float64) for b in bands])
            ok = np.isfinite(raw).all(axis=0) & (raw != 0).any(axis=0)
            for band_raw, nd in zip(raw, nodata):
                if nd is not None and not math.isnan(nd):
                    ok &= band_raw != nd
            values.append(raw[:, ok].ravel() * scale + offset)
    ds.FlushCache()
    values = np.concatenate(values) if values else np.zeros(0)
    return float(np.percentile(values, 99)) if values.size else None


MAX_OFFSET = 1.0


def check_offset(offset):
    """InputError unless the reflectance offset (added after SCALE) is empty or a number from -1 to 1."""
    if offset is None:
        return
    if not math.isfinite(float(offset)) or abs(float(offset)) > MAX_OFFSET:
        raise InputError(f"OFFSET is added to the reflectance after SCALE and must lie between -{MAX_OFFSET:g} and "
                         f"{MAX_OFFSET:g}; got {float(offset):g}. Sentinel-2 products of processing baseline 04.00 "
                         "and later (from 25 January 2022) need -0.1 on the raw DN (their -1000 DN offset x 0.0001).")


def scaling_warning(p99, scale, offset):
    """A warning line when scaled reflectance looks like another scaling (99th percentile outside
    LOW_P99..HIGH_P99), with the SCALE that would bring it to a typical 0.4; None when it looks right."""
    if p99 is None or LOW_P99 <= p99 <= HIGH_P99:
        return None
    raw = (p99 - offset) / scale
    suggested = 10.0 ** round(math.log10(0.4 / raw)) if raw > 0 else None
    hint = f" Set SCALE={suggested:g} if that is its scaling." if suggested and suggested != scale else ""
    return (f"Warning: the 99th percentile of the scaled reflectance of sampled pixels is {p99:.3g} (SCALE "
            f"{scale:g}, OFFSET {offset:g}); in a Sentinel-2 scene it lies between {LOW_P99:g} and {HIGH_P99:g}. The "
            f"input may use another scaling, and the mask would then be wrong.{hint}")


def shadow_check_on(value):
    """SHADOW_CHECK as a bool (None: the default, on)."""
    return True if value is None else bool(value)


@dataclass
class CloudMaskOptions:
    """The options of plan_cloud_mask, with Generate Cloud Mask's defaults.

    level: PRODUCT_LEVEL ("L1C"/"L2A"); explicit_bands: {role: 1-based band}; model: card, ONNX or card id (None:
    the shipped card for level and bands); scale, offset: reflectance = DN x scale + offset (None: band metadata or
    a default by type); resolution_m: PROCESSING_RESOLUTION (0 = input); overlap (None: the card's), batch_size,
    threads (onnxruntime); provider: EXECUTION_PROVIDER (onnx_model.choose_providers); shadow_check: keep only
    shadows a cloud could cast (shadow_check.py), with shadow_options {max_cloud_height, sun_azimuth, sun_zenith}.
    """

    level: str = "L1C"
    explicit_bands: dict = None
    model: str = None
    scale: float = None
    offset: float = None
    resolution_m: float = 0.0
    overlap: float = None
    batch_size: int = 4
    threads: int = 0
    provider: str = "auto"
    shadow_check: bool = True
    shadow_options: dict = None


@gdal_scoped
def plan_cloud_mask(input_path, output_path, probability_path=None, models_dir=model_card.MODELS_DIR, **options):
    """Check all inputs and resolve bands, model card, scale and processing factor; raise InputError if wrong.

    `options`: the fields of CloudMaskOptions (an unknown name raises TypeError)."""
    o = CloudMaskOptions(**options)
    explicit_bands, model, scale, offset, overlap, batch_size = (o.explicit_bands, o.model, o.scale, o.offset,
                                                                 o.overlap, o.batch_size)
    threads, provider, shadow_check = o.threads, o.provider, o.shadow_check
    level = str(o.level or "L1C").upper()
    if level not in model_card.LEVELS:
        raise InputError(f"PRODUCT_LEVEL must be one of {list(model_card.LEVELS)}, not '{level}'.")
    if not output_path:
        raise InputError("No output file was given for the cloud mask.")
    check_outputs({"cloud mask output": output_path, "probability output": probability_path},
                  {"input raster": input_path})
    ds = open_raster(input_path)
    count = ds.RasterCount
    descriptions = [ds.GetRasterBand(b).GetDescription() for b in range(1, count + 1)]
    roles, how = band_mapping.map_bands(count, descriptions, _band_wavelengths(ds), explicit_bands)
    band_mapping.require_roles(roles, band_mapping.ROLES[:4], count)
    card = model_card.resolve_card(model, level, roles, models_dir)
    s2_ids = [b for b in card.bands if b not in band_mapping.ROLES]
    if s2_ids:  # a model that names Sentinel-2 bands (s2cloudless: B01, B02, B04, ...)
        found, s2_how = band_mapping.map_s2_ids(s2_ids, count, descriptions, card.id)
        roles = dict(roles, **found)
        how += "; " + ", ".join(f"{b.upper()}={n}" for b, n in found.items()) + f" from the {s2_how}"
    missing = [b for b in card.bands if b not in roles]
    if missing:
        band_mapping.require_roles(roles, card.bands, count)
    if card.product_level and card.product_level != level:
        notes_level = f"note: model '{card.id}' is for {card.product_level} data, PRODUCT_LEVEL is {level}"
    else:
        notes_level = None
    dtypes = {numpy_dtype(ds, roles[b]) for b in card.bands}
    from_metadata = _band_scaling(ds, [roles[b] for b in card.bands]) if scale is None else None
    if from_metadata is not None:
        scale = from_metadata[0]
        if offset is None:
            offset = from_metadata[1]
        scale_note = f"SCALE {scale:g} (the bands' own scale metadata)"
    elif scale is None:
        scale = 1.0 if all(d.kind == "f" for d in dtypes) else 1e-4
        scale_note = f"SCALE {scale:g} (default for {'float' if scale == 1.0 else 'integer'} input)"
    else:
        scale = float(scale)
        scale_note = f"SCALE {scale:g}"
    if not scale > 0 or not math.isfinite(scale):
        raise InputError(f"SCALE must be a positive number (reflectance = DN x SCALE + OFFSET); got {scale:g}. "
                         "Sentinel-2 DN: 0.0001; reflectance x 1000: 0.001; reflectance: 1.")
    check_offset(offset)
    if overlap is None:
        overlap = card.overlap
    if not 0 <= overlap < 0.5:
        raise InputError(f"OVERLAP must be from 0 to below 0.5 (a share of the tile size), not {overlap}.")
    batch_size = int(batch_size or 1)
    if batch_size < 1:
        raise InputError("BATCH_SIZE must be at least 1.")
    factor, res_note = processing_factor(ds, o.resolution_m)
    bands = [roles[b] for b in card.bands]
    model_card.verify_onnx(card)
    providers = choose_providers(provider)
    shadow, shadow_note = (plan_shadow_check(ds, card, pixel_size_m(ds), **(o.shadow_options or {}))
                           if shadow_check_on(shadow_check) else (None, "shadow check off: the model's classes"))
    plan = CloudMaskPlan(
        input_path=str(input_path), card=card, bands=bands, roles=roles, scale=scale, offset=float(offset or 0.0),
        nodata=[band_nodata(ds, b) for b in bands], factor=factor, overlap=float(overlap), batch_size=batch_size,
        threads=int(threads or 0), width=ds.RasterXSize, height=ds.RasterYSize, provider=str(provider or "auto"),
        providers=providers, shadow=shadow)
    plan.notes = [f"bands {band_mapping.describe(roles)} ({how})",
                  f"model {card.id}: {card.title} ({card.onnx_path})",
                  f"reflectance = DN x {scale_note} + OFFSET {plan.offset:g}",
                  res_note + f"; tiles of {card.tile_size} px with {plan.overlap:g} overlap, batch {batch_size}"]
    if notes_level:
        plan.notes.append(notes_level)
    plan.notes.append(shadow_note)
    warning = scaling_warning(sample_reflectance_p99(ds, bands, plan.nodata, scale, plan.offset), scale, plan.offset)
    if warning:
        plan.notes.append(warning)
    return plan


