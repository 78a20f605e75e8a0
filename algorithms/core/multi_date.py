"""Multi-Date Cloud Fill: a cloud-free image from several partly cloudy dates, each with its own clouds masked.

One pass of the shared fill runner per replacement, in the chosen order. By default (combine = 5) each date fills,
on its own, the target's cloudy (and missing) pixels where it is clear, stepwise with residual correction, and each
pixel gets the median of the first 5 dates' values; with combine = 1 the first clear date fills and each later
date fills what is left, the earlier dates' values counted as known. Masks that are not given are computed with
Generate Cloud Mask into a scratch folder and deleted after the run.
"""

import dataclasses
import datetime as dt
import os
import re
import shutil
import tempfile

import numpy as np

from .align import align_to
from .cloud_mask import plan_cloud_mask, run_cloud_mask
from .fill_plan import FillPlan, Source, check_plan
from .fill_runner import run_fill
from .fill_store import MaskReader, valid_pixels
from .gdal_env import gdal_scoped
from .progress import NULL_PROGRESS, InputError
from .raster_io import Window, band_nodata, open_raster, read_window
from .staging import SCRATCH_PREFIX, private_dir

ORDERS = ("similar", "nearest", "given")
DEFAULT_COMBINE = 5  # dates combined per pixel (median of their own fills); 1 = the first clear date, chained
SAMPLE_GRID, SAMPLE_SIZE = 8, 128  # windows sampled to rank replacements by their agreement with the target
DATE_KEYS = ("DATATAKE_1_DATATAKE_SENSING_START", "PRODUCT_START_TIME", "SENSING_TIME", "ACQUISITIONDATETIME",
             "ACQUISITION_DATE", "DATE_ACQUIRED", "TIFFTAG_DATETIME")
_NAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_TEXT_DATE = re.compile(r"((?:19|20)\d{2})[-:/]?(0[1-9]|1[0-2])[-:/]?(0[1-9]|[12]\d|3[01])")


def acquisition_date(path):
    """(date, how it was found) of a raster: from GDAL metadata (DATE_KEYS, default and IMAGERY domains), else from
    a YYYYMMDD in the file name; (None, reason) when neither gives one."""
    try:
        ds = open_raster(path)
    except InputError:
        ds = None
    if ds is not None:
        for domain in ("", "IMAGERY"):
            md = ds.GetMetadata(domain) or {}
            for key in DATE_KEYS:
                m = _TEXT_DATE.search(str(md.get(key, "")))
                if m:
                    return dt.date(*map(int, m.groups())), f"metadata {key}"
    m = _NAME_DATE.search(os.path.basename(str(path)))
    if m:
        try:
            return dt.date(*map(int, m.groups())), "file name"
        except ValueError:
            pass
    return None, "no date in its metadata (" + ", ".join(DATE_KEYS) + ") nor a YYYYMMDD in its file name"


def order_sources(target, replacements, order, log=None):
    """Indices of `replacements` in the order to use: as given, or nearest acquisition date to the target first
    (ties keep the given order). InputError names the file whose date cannot be found. ("similar" is ordered
    later, once the masks are known: see similarity_order.)"""
    order = ORDERS[order] if isinstance(order, int) else str(order).lower()
    if order not in ORDERS:
        raise InputError(f"ORDER must be one of {list(ORDERS)}, not '{order}'.")
    if order in ("given", "similar"):
        return list(range(len(replacements)))
    dates = []
    for path in [target] + list(replacements):
        date, how = acquisition_date(path)
        if date is None:
            raise InputError(f"ORDER=nearest needs the acquisition date of every image, but '{path}' has {how}. "
                             "Use ORDER=given (the order of the list) or rename the file with its date (YYYYMMDD).")
        if log is not None:
            log(f"date of '{os.path.basename(str(path))}': {date.isoformat()} (from the {how})")
        dates.append(date)
    return sorted(range(len(replacements)), key=lambda i: (abs((dates[i + 1] - dates[0]).days), i))


def _sample_windows(width, height):
    """The whole image when it is small, else a grid of SAMPLE_GRID x SAMPLE_GRID windows of SAMPLE_SIZE pixels."""
    if width * height <= (SAMPLE_GRID * SAMPLE_SIZE) ** 2:
        yield Window(0, 0, width, height)
        return
    sw, sh = min(SAMPLE_SIZE, width), min(SAMPLE_SIZE, height)
    for y in np.unique(np.linspace(0, height - sh, SAMPLE_GRID).astype(int)):
        for x in np.unique(np.linspace(0, width - sw, SAMPLE_GRID).astype(int)):
            yield Window(int(x), int(y), sw, sh)


def similarity_order(input_path, input_mask, sources, buffer, progress=NULL_PROGRESS):
    """Sources ranked by how well each agrees with the target where both are clear: the RMSE left by a per-band
    global linear regression of the date onto the target (std_t * sqrt(1 - r^2)), averaged over bands, on a sample
    of windows (bounded cost on any scene size). It estimates the error of filling from that date better than the
    acquisition date does (phenology, haze, a different sensor). Dates that share fewer than 100 clear pixels with
    the target go last, in the given order. Returns (order, scores in the target's units)."""
    src = open_raster(input_path)
    w, h, nb = src.RasterXSize, src.RasterYSize, src.RasterCount
    nodata = [band_nodata(src, b) for b in range(1, nb + 1)]

    def reader(path, band, classes, what):
        ds, alpha = align_to(src, open_raster(path, what), "near", what)
        return MaskReader(ds, band, alpha, buffer, w, h, classes)

    tmask = reader(input_mask[0], 1, input_mask[1], "mask raster") if input_mask and input_mask[0] else None
    scores = []
    for s in sources:
        rep, alpha = align_to(src, open_raster(s.path, "replacement raster"), "bilinear", "replacement raster")
        rnodata = [band_nodata(rep, b) for b in range(1, nb + 1)]
        rmask = reader(s.mask, s.mask_band, s.mask_classes, "replacement mask") if s.mask else None
        pairs = [[] for _ in range(nb)]
        for win in _sample_windows(w, h):
            t = np.stack([read_window(src, b, win).astype(np.float64) for b in range(1, nb + 1)])
            r = np.stack([read_window(rep, b, win).astype(np.float64) for b in range(1, nb + 1)])
            ok = np.ones((win.h, win.w), bool)
            for b in range(nb):
                ok &= valid_pixels(t[b], nodata[b]) & valid_pixels(r[b], rnodata[b]) & np.isfinite(r[b])
            if alpha:
                ok &= read_window(rep, alpha, win) > 0
            for m in (tmask, rmask):
                if m is not None:
                    ok &= ~m.read(win)
            for b in range(nb):
                pairs[b].append((t[b][ok], r[b][ok]))
        score = []
        for b in range(nb):
            tb, rb = (np.concatenate([p[i] for p in pairs[b]]) for i in (0, 1))
            if tb.size < 100 or tb.std() == 0 or rb.std() == 0:
                score = [np.inf]
                break
            score.append(tb.std() * np.sqrt(max(1.0 - np.corrcoef(tb, rb)[0, 1] ** 2, 0.0)))
        scores.append(float(np.mean(score)))
        progress.check()
    order = sorted(range(len(sources)), key=lambda i: (scores[i], i))
    return order, scores


@dataclasses.dataclass
class MultiDateOptions:
    """The options of run_multi_date_fill, with the algorithm's defaults (see run_multi_date_fill)."""

    input_mask: str = None
    replacement_masks: list = None
    order: str = "similar"
    auto_mask: bool = True
    mask_options: dict = None
    mask_classes: tuple = (1, 2)
    fill_nodata: bool = True
    window_size: int = 80
    buffer: int = 2
    residual_correction: bool = True
    gain_rule: str = "auto"
    source_output: str = None
    remaining_output: str = None
    combine: int = DEFAULT_COMBINE


@gdal_scoped
def run_multi_date_fill(input_path, replacements, output_path, progress=NULL_PROGRESS, **options):
    """Fill the target's masked and missing pixels from several replacements, each used only where it is clear.

    Parameters
    ----------
    input_path : str
        The cloudy target.
    replacements : list of str
        Replacement images (same bands as the target, any grid: aligned on the fly).
    output_path : str
        The filled image (the target's type, grid and nodata).
    progress : Progress
        Progress, log and cancel.
    **options
        The fields of MultiDateOptions (an unknown name raises TypeError):
    input_mask, replacement_masks : str or None, list of (str or None)
        Masks (non-zero and not nodata = cloudy); replacement masks match the replacements by position. A missing
        mask is computed with Generate Cloud Mask when `auto_mask`, keeping `mask_classes` (1 cloud, 2 shadow).
    order : {"similar", "nearest", "given"}
        Most similar first (the dates that agree best with the target where both are clear, see
        similarity_order), the nearest acquisition date first, or the given order.
    mask_options : dict
        Options of plan_cloud_mask for computed masks (level, scale, offset, model, resolution_m, ...).
    fill_nodata : bool
        Also fill the target's nodata pixels (all bands nodata).
    source_output, remaining_output : str or None
        Optional uint8 rasters: the replacement (1, 2, ... in the order used) each pixel came from, or with
        `combine` > 1 the number of dates combined (0 original, 255 still missing); and 1 where no date could fill
        a pixel.
    combine : int
        1: each pixel from the first date in the order that is clear there (pixels filled count as known for
        later dates). n > 1: each date fills, on its own, the pixels it is clear at that hold fewer than n values,
        and each pixel gets the per-band median of its values (up to n dates, in the order).
    window_size, buffer, residual_correction, gain_rule
        The fill's options (FillPlan); gain_rule "auto" (default) uses the paper's std_t / std_r when medians of
        several dates are taken and sqrt(rho) std_t / std_r when each pixel takes one date (FillPlan.gain).

    Returns
    -------
    dict
        The runner's summary plus "order" (indices of `replacements` in the order used).
    """
    o = MultiDateOptions(**options)
    input_mask, order, auto_mask, mask_options, fill_nodata = (o.input_mask, o.order, o.auto_mask, o.mask_options,
                                                               o.fill_nodata)
    mask_classes, buffer, combine = o.mask_classes, o.buffer, o.combine
    replacements = [str(r) for r in replacements]
    masks = list(o.replacement_masks or [])
    if len(masks) > len(replacements):
        raise InputError(f"{len(masks)} replacement masks were given for {len(replacements)} replacements; give one "
                         "mask per replacement, in the same order (or none).")
    if masks and len(masks) < len(replacements) and not auto_mask:
        raise InputError(f"Only {len(masks)} replacement masks for {len(replacements)} replacements and AUTO_MASK "
                         "is off: give one mask per replacement, in the same order, or turn AUTO_MASK on.")
    masks += [None] * (len(replacements) - len(masks))
    if not replacements:
        raise InputError("Give at least one replacement image.")
    if not auto_mask and input_mask is None and not fill_nodata:
        raise InputError("Nothing to fill: give INPUT_MASK, or turn AUTO_MASK on.")
    idx = order_sources(input_path, replacements, order, progress.log)
    if str(order).lower() not in ("similar", "0"):
        progress.log("order used: " + ", ".join(f"{k}: {os.path.basename(replacements[i])}"
                                                for k, i in enumerate(idx, start=1)))
    plan = FillPlan(input_path=str(input_path), output=str(output_path), mask=input_mask, fill_nodata=fill_nodata,
                    sources=[Source(replacements[i], masks[i]) for i in idx], window_size=o.window_size,
                    buffer=o.buffer, residual_correction=o.residual_correction, gain_rule=o.gain_rule,
                    source_output=o.source_output, remaining_output=o.remaining_output,
                    extra_inputs={f"mask {j}": m for j, m in enumerate(masks) if m}, combine=o.combine,
                    threads=int((mask_options or {}).get("threads") or 0))
    # Checked before any mask is computed (a target mask may still come: so "nothing to fill" is not asked here);
    # run_fill checks the completed plan again when it opens the computed masks.
    check_plan(dataclasses.replace(plan, fill_nodata=True))
    scratch = None
    try:
        todo = [(p, what) for p, m, what in [(input_path, input_mask, "input")] +
                [(replacements[i], masks[i], f"replacement {k}") for k, i in enumerate(idx, start=1)]
                if m is None and auto_mask]
        computed = {}
        if todo:
            scratch = private_dir(tempfile.gettempdir(), prefix=SCRATCH_PREFIX, suffix="")
            plans = [(p, what, plan_cloud_mask(p, os.path.join(scratch, f"mask{j}.tif"), **(mask_options or {})))
                     for j, (p, what) in enumerate(todo)]  # every mask plan is checked before the first runs
            share = 0.5 / len(plans)
            for j, (p, what, mplan) in enumerate(plans):
                progress.log(f"computing the cloud mask of the {what} ({os.path.basename(p)})")
                run_cloud_mask(mplan, os.path.join(scratch, f"mask{j}.tif"), None, progress.sub(j * share,
                                                                                                (j + 1) * share))
                computed[(p, what)] = os.path.join(scratch, f"mask{j}.tif")
        fill_share = 0.5 if todo else 0.0

        def source(k, i):
            given = masks[i]
            path = given or computed.get((replacements[i], f"replacement {k}"))
            return Source(replacements[i], path, 1, None if given else tuple(mask_classes), "replacement")

        sources = [source(k, i) for k, i in enumerate(idx, start=1)]
        target_mask = input_mask or computed.get((input_path, "input"))
        if str(order).lower() in ("similar", "0"):
            ranked, scores = similarity_order(input_path, (target_mask, None if input_mask else tuple(mask_classes)),
                                              sources, buffer, progress)
            progress.log("agreement with the input where both are clear (RMSE of a global regression, lower is "
                         "better): " + ", ".join(f"{os.path.basename(sources[j].path)} {scores[j]:.4g}"
                                                 for j in ranked))
            idx, sources = [idx[j] for j in ranked], [sources[j] for j in ranked]
            progress.log("order used (most similar first): " + ", ".join(
                f"{k}: {os.path.basename(replacements[i])}" for k, i in enumerate(idx, start=1)))

        plan = dataclasses.replace(plan, sources=sources, mask=target_mask,
                                   mask_classes=None if input_mask else tuple(mask_classes))

        def on_pass(k, n):
            what = "filled" if combine == 1 else "gave a value to"
            progress.log(f"replacement {k} ({os.path.basename(replacements[idx[k - 1]])}): {what} {n} pixels")

        summary = run_fill(plan, progress.sub(fill_share, 1.0), on_pass=on_pass, require_fill=True)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if summary["fill_pixels"]:
        share = 100.0 * (summary["fill_pixels"] - summary["remaining"]) / summary["fill_pixels"]
        progress.log(f"Multi-date fill: {summary['fill_pixels'] - summary['remaining']} of {summary['fill_pixels']} "
                     f"pixels filled ({share:.1f} %); {summary['remaining']} still missing (no date was clear there).")
    summary["order"] = idx
    return summary
