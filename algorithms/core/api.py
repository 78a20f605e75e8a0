"""The plugin's algorithms as plain Python functions, without QGIS: paths in, the same output files out.

Each function takes the parameters of its Processing algorithm under the same names in lower case, with the same
defaults, and calls the same core plans and runners as the QGIS shells (`algorithms/*.py`), so its outputs are
byte for byte those of `processing.run` and `qgis_process`. Everything is checked before any output exists; a
failure raises `InputError` (bad input, with what to change) or another exception, a cancel `Cancelled`, and
leaves no output.

    from cloud_removal.algorithms.core import api

    api.remove_clouds("cloudy.tif", "clear.tif", "cloud_free.tif", product_level="L2A", reflectance_scale=0.001,
                      progress=lambda pct: print(f"{pct:.0f} %"))

`progress` is a callable taking the percent done (0-100), `log` one taking a line of text, `is_cancelled` one
returning True to stop (the run then raises `Cancelled` and writes nothing). Within one process, model sessions
are loaded once and reused by later calls (`onnx_model.reuse_sessions`).
"""

from . import remove_clouds as chain
from .cloud_mask import plan_cloud_mask, run_cloud_mask
from .fill_plan import DEFAULT_BUFFER, DEFAULT_WINDOW
from .multi_date import DEFAULT_COMBINE, run_multi_date_fill
from .onnx_model import PROVIDER_NAMES, reuse_sessions
from .progress import Cancelled, InputError, Progress
from .reclassify import reclassify_raster
from .remap import remap_from
from .shadow_check import DEFAULT_MAX_CLOUD_HEIGHT
from .slra_raster import run_slra

__all__ = ["Cancelled", "InputError", "cloud_mask", "multi_date_fill", "reclassify", "remove_clouds", "slra_fill"]

BAND_ROLES = ("blue", "green", "red", "nir", "swir16", "swir22")
MISSING_VALUES = ("DATA", "NODATA")


def _progress(progress=None, log=None, is_cancelled=None):
    if isinstance(progress, Progress):
        return progress
    return Progress(progress, is_cancelled, log)


def _level(value):
    return chain.product_level(value)


def _nonempty(value):
    return None if value in (None, "") else value


def _provider(value):
    """EXECUTION_PROVIDER by name or by its index in the algorithm's list."""
    return PROVIDER_NAMES[int(value)] if str(value).isdigit() else str(value)


def cloud_mask(input, output, product_level="L1C", blue_band=None, green_band=None, red_band=None, nir_band=None,
               swir16_band=None, swir22_band=None, scale=None, offset=None, processing_resolution=20.0, model=None,
               overlap=None, batch_size=4, threads=0, output_probability=None, shadow_check=True,
               max_cloud_height=DEFAULT_MAX_CLOUD_HEIGHT, sun_azimuth=None, sun_zenith=None,
               execution_provider="auto", progress=None, log=None, is_cancelled=None):
    """Generate Cloud Mask (`cloudremoval:generatecloudmask`): classes 0 clear, 1 cloud, 2 cloud shadow, 255 nodata.

    Parameters
    ----------
    input, output : str
        The multispectral raster (any GDAL source) and the class raster to write.
    product_level : {"L1C", "L2A", 0, 1}
        Picks the ukis-csmask model when `model` is None.
    blue_band, green_band, red_band, nir_band, swir16_band, swir22_band : int or None
        1-based band numbers; None: found from band descriptions and wavelengths.
    scale, offset : float or None
        Reflectance = DN x scale + offset; None: the bands' metadata, else 0.0001 for integers and 1 for floats.
    processing_resolution : float
        Metres; 0 = the input's resolution.
    model : str or None
        A model card (.json), an ONNX file with a card, or a card id.
    overlap, batch_size, threads
        Tile overlap (None: the card's), tiles per model call, onnxruntime threads (0 = all cores).
    output_probability : str or None
        Optional cloud probability raster (0-100).
    shadow_check : bool
        Keep only the shadow regions a cloud could cast (see shadow_check.py).
    max_cloud_height, sun_azimuth, sun_zenith : float or None
        The shadow check's highest cloud top (m) and sun angles (degrees; None: from the metadata).
    execution_provider : {"auto", "CUDA", "DirectML", "CoreML", "CPU"}
        Where onnxruntime runs the model.
    progress, log, is_cancelled : callable or None
        See the module's documentation.

    Returns
    -------
    dict
        Pixels per class name.
    """
    explicit = dict(zip(BAND_ROLES, (blue_band, green_band, red_band, nir_band, swir16_band, swir22_band)))
    plan = plan_cloud_mask(input, output, level=_level(product_level), explicit_bands=explicit,
                           model=_nonempty(model), scale=_nonempty(scale), offset=_nonempty(offset),
                           resolution_m=processing_resolution, overlap=_nonempty(overlap), batch_size=batch_size,
                           threads=threads, probability_path=_nonempty(output_probability),
                           provider=_provider(execution_provider), shadow_check=bool(shadow_check),
                           shadow_options={"max_cloud_height": _nonempty(max_cloud_height),
                                           "sun_azimuth": _nonempty(sun_azimuth),
                                           "sun_zenith": _nonempty(sun_zenith)})
    with reuse_sessions():
        return run_cloud_mask(plan, output, _nonempty(output_probability), _progress(progress, log, is_cancelled))


def reclassify(input, output, band=1, remap="1 1;2 1;3 1", table=None, missing_values="DATA", grow=0,
               min_region=0, progress=None, log=None, is_cancelled=None):
    """Reclassify Cloud Types (`cloudremoval:reclassifycloudtypes`): chosen classes to 1, the rest to 0.

    Parameters
    ----------
    input, output : str
        The class raster and the raster to write.
    band : int
        Band of `input` to reclassify.
    remap : str
        ArcGIS remap string ("old new; low high new; NODATA new").
    table : list or None
        Flat [min, max, value, min, max, value, ...] rows; wins over `remap` when it has rows.
    missing_values : {"DATA", "NODATA"}
        Values not listed keep their value (DATA) or become nodata (NODATA).
    grow, min_region : int
        Grow the ones by this many pixels; drop regions of ones smaller than this many pixels first.
    progress, log, is_cancelled : callable or None
        See the module's documentation.

    Returns
    -------
    dict
        The reclassification's summary (output type, nodata, ...).
    """
    missing = str(missing_values).upper() if str(missing_values).upper() in MISSING_VALUES else None
    if missing is None and str(missing_values).isdigit() and int(missing_values) < 2:
        missing = MISSING_VALUES[int(missing_values)]
    if missing is None:
        raise InputError(f"missing_values must be 'DATA' or 'NODATA', not {missing_values!r}.")
    rules, _ = remap_from(remap, table, missing == "DATA")
    return reclassify_raster(input, int(band or 1), rules, output, grow=int(grow), min_region=int(min_region),
                             progress=_progress(progress, log, is_cancelled))


def slra_fill(input, replacement, mask, output, mask_band=1, window_size=DEFAULT_WINDOW, buffer=DEFAULT_BUFFER,
              residual_correction=True, gain="auto", progress=None, log=None, is_cancelled=None):
    """Stepwise Local Radiometric Adjustment (`cloudremoval:stepwiselocalradiometricadjustment`).

    Parameters
    ----------
    input, replacement, mask, output : str
        The cloudy image, the image of another date with the same bands, the mask (non-zero = fill) and the filled
        image to write (the input's type, grid and nodata).
    mask_band : int
        Band of the mask.
    window_size, buffer : int
        Side of the local statistics window (multiple of 20) and growth of the mask in pixels (0-15).
    residual_correction : bool
        Add the harmonic correction of the residuals at the region's border.
    gain : {"auto", "correlation", "std_ratio"}
        The adjustment's gain in each window: the ratio of standard deviations times the square root of the
        correlation of the two dates ("correlation"), or the ratio alone ("std_ratio", Li et al. 2019). "auto":
        "correlation" when each pixel takes one date's value (always here), "std_ratio" for medians of dates.
    progress, log, is_cancelled : callable or None
        See the module's documentation.

    Returns
    -------
    dict
        The fill's summary (fill_pixels, filled, widened, fallback, remaining).
    """
    return run_slra(input, replacement, mask, output, mask_band=int(mask_band or 1), window_size=int(window_size),
                    buffer=int(buffer), residual_correction=bool(residual_correction), gain_rule=gain,
                    progress=_progress(progress, log, is_cancelled))


def multi_date_fill(input, replacements, output, input_mask=None, replacement_masks=None, order="similar",
                    auto_mask=True, classes_to_remove=1, fill_nodata=True, window_size=DEFAULT_WINDOW,
                    buffer=DEFAULT_BUFFER, residual_correction=True, gain="auto", product_level="L1C",
                    scale=None, offset=None, model=None, output_source=None, output_remaining=None, threads=0,
                    combine_dates=DEFAULT_COMBINE, shadow_check=True, execution_provider="auto", progress=None,
                    log=None, is_cancelled=None):
    """Multi-Date Cloud Fill (`cloudremoval:multidatecloudfill`): fill from several dates, each where it is clear.

    Parameters
    ----------
    input, output : str
        The cloudy image and the filled image to write.
    replacements : list of str
        Images of other dates with the same bands.
    input_mask, replacement_masks : str or None, list of str
        Masks (non-zero = cloudy), the replacements' in the same order; missing ones are computed when `auto_mask`.
    order : {"similar", "nearest", "given"}
        Which replacement is used first.
    classes_to_remove : {0, 1}
        Computed masks: 0 clouds, 1 clouds and cloud shadows.
    fill_nodata : bool
        Also fill the input's nodata pixels.
    window_size, buffer, residual_correction, gain
        As in `slra_fill`.
    product_level, scale, offset, model
        The computed masks' options, as in `cloud_mask`.
    output_source, output_remaining : str or None
        Optional rasters: which replacement each pixel came from; 1 where no date could fill. (The algorithm writes
        the source raster to a temporary file by default; here it is written only when a path is given.)
    threads : int
        CPU threads of the job: onnxruntime threads of the computed masks and bands filled at once (0 = all cores,
        as the algorithm; 1 in a batch of one job per core).
    combine_dates : int
        Dates combined per pixel: n > 1, the median of the first n clear dates' own fills; 1, the first clear date.
    shadow_check, execution_provider
        The computed masks' options, as in `cloud_mask`.
    progress, log, is_cancelled : callable or None
        See the module's documentation.

    Returns
    -------
    dict
        The fill's summary plus "order" (indices of `replacements` in the order used).
    """
    if str(classes_to_remove) not in ("0", "1"):
        raise InputError(f"classes_to_remove must be 0 (clouds) or 1 (clouds and cloud shadows), not "
                         f"{classes_to_remove!r}.")
    mask_options = {"level": _level(product_level), "resolution_m": chain.MASK_RESOLUTION_M,
                    "scale": _nonempty(scale), "offset": _nonempty(offset), "model": _nonempty(model),
                    "threads": threads, "provider": _provider(execution_provider), "shadow_check": bool(shadow_check)}
    with reuse_sessions():
        return run_multi_date_fill(
            input, [replacements] if isinstance(replacements, str) else list(replacements), output,
            input_mask=_nonempty(input_mask), replacement_masks=list(replacement_masks or []), order=order,
            auto_mask=bool(auto_mask), mask_options=mask_options, mask_classes=[(1,), (1, 2)][int(classes_to_remove)],
            fill_nodata=bool(fill_nodata), window_size=int(window_size), buffer=int(buffer),
            residual_correction=bool(residual_correction), gain_rule=gain, source_output=_nonempty(output_source),
            remaining_output=_nonempty(output_remaining), progress=_progress(progress, log, is_cancelled),
            combine=int(combine_dates))


def remove_clouds(cloudy_image, replacement_image, cloud_free, product_level="L1C", reflectance_scale=None,
                  reflectance_offset=None, classes_to_remove=1, fill_nodata=False, window_size=DEFAULT_WINDOW,
                  buffer=DEFAULT_BUFFER, cloud_classes=None, cloud_mask=None, threads=0, progress=None, log=None,
                  is_cancelled=None):
    """The whole workflow, as the shipped model `cloudremoval:removeclouds`: mask, reclassify, fill.

    Parameters
    ----------
    cloudy_image, replacement_image : str
        The image with clouds and an image of another date with the same bands.
    cloud_free : str
        The cloud-free image to write (the model's `fill:cloud_free`).
    product_level, reflectance_scale, reflectance_offset
        The mask step's level ("L1C" / 0 or "L2A" / 1), scale and offset (None: automatic).
    classes_to_remove : {0, 1}
        0 clouds, 1 clouds and cloud shadows.
    fill_nodata : bool
        Also fill the cloudy image's nodata pixels.
    window_size, buffer : int
        The fill's window (multiple of 20) and mask growth (0-15).
    cloud_classes, cloud_mask : str or None
        Also write the class raster (`mask:cloud_classes`) and the 0/1 mask filled (`reclassify:cloud_mask`).
    threads : int
        CPU threads of the job: onnxruntime threads of the mask step and bands filled at once (0 = all cores, as in
        the model; 1 in a batch of one task per core).
    progress, log, is_cancelled : callable or None
        See the module's documentation.

    Returns
    -------
    dict
        {"classes": pixels per class, "fill": the fill's summary}.
    """
    outputs = {"cloud_classes": _nonempty(cloud_classes), "cloud_mask": _nonempty(cloud_mask),
               "cloud_free": cloud_free}
    with reuse_sessions():
        return chain.run_remove_clouds(
            cloudy_image, replacement_image, outputs, level=_level(product_level), scale=_nonempty(reflectance_scale),
            offset=_nonempty(reflectance_offset), classes_to_remove=classes_to_remove, fill_nodata=bool(fill_nodata),
            window_size=int(window_size), buffer=int(buffer), threads=threads,
            progress=_progress(progress, log, is_cancelled))
