"""The plan of a fill (single-date SLRA or multi-date): validated parameters and inputs, checked before any output
exists, then opened and aligned for the runner (fill_runner.py)."""

from dataclasses import dataclass, field

from .align import align_to
from .fill_store import MaskReader
from .progress import InputError
from .raster_formats import check_outputs
from .raster_io import band_nodata, check_band, numpy_dtype, open_raster
from .slra_stats import GAIN_RULES

GAIN_CHOICES = ("auto",) + GAIN_RULES  # auto: "correlation" for one date per pixel, "std_ratio" for medians of dates

DEFAULT_WINDOW = 80
DEFAULT_BUFFER = 2  # chosen by measurement: see the README (Stepwise Local Radiometric Adjustment)
MAX_BUFFER = 15


def max_window(width, height):
    """The largest useful WINDOW_SIZE for an image: the multiple of 20 whose half covers its longest side."""
    return max(20, 20 * -(-2 * max(int(width), int(height)) // 20))


def check_parameters(window_size, buffer, width=None, height=None):
    """InputError unless WINDOW_SIZE is a positive multiple of 20 and BUFFER is in 0..15; with the image size, also
    unless the window is at most what covers the whole image from every pixel (larger ones only cost time)."""
    if window_size is None or int(window_size) != window_size or window_size < 20 or window_size % 20:
        raise InputError(f"WINDOW_SIZE must be a positive multiple of 20 pixels (20, 40, 60, 80, ...); "
                         f"got {window_size}.")
    if buffer is None or int(buffer) != buffer or not 0 <= buffer <= MAX_BUFFER:
        raise InputError(f"BUFFER must be a whole number of pixels from 0 to {MAX_BUFFER}; got {buffer}.")
    if width and height:
        largest = max_window(width, height)
        if window_size > largest:
            raise InputError(f"WINDOW_SIZE {window_size} is larger than this {width} x {height} image needs: a window "
                             f"of {largest} pixels already covers the whole image from every pixel, and larger ones "
                             f"only take longer. Use at most {largest} (the default is {DEFAULT_WINDOW}; ArcGIS's "
                             "default window corresponds to 160).")


@dataclass
class Source:
    """One replacement image and, optionally, its own mask (non-zero or `mask_classes` = not usable)."""

    path: str
    mask: str = None
    mask_band: int = 1
    mask_classes: tuple = None
    label: str = "replacement raster"


@dataclass
class FillPlan:
    """Everything a fill needs. Passes run in the order of `sources`; pass k fills what is still missing where
    source k is usable (pixels filled by earlier passes count as known). With `combine` = n > 1, pass k instead
    fills, on its own (from the original known pixels only), the pixels holding fewer than n values where source k
    is usable, and each pixel gets the median of its values. `mask` (non-zero or `mask_classes` = fill) and/or
    `fill_nodata` define the region."""

    input_path: str
    sources: list
    output: str
    mask: str = None
    mask_band: int = 1
    mask_classes: tuple = None
    fill_nodata: bool = False
    window_size: int = DEFAULT_WINDOW
    buffer: int = DEFAULT_BUFFER
    residual_correction: bool = True
    gain_rule: str = "auto"  # GAIN_CHOICES: sqrt(rho) std_t / std_r, the paper's std_t / std_r, or auto (gain())
    source_output: str = None
    remaining_output: str = None
    ring_width: int = 2
    min_common: int = 25
    extra_inputs: dict = field(default_factory=dict)
    combine: int = 1  # 1: the first usable source fills (chained); n > 1: median of up to n sources' own fills
    threads: int = 0  # bands filled at once (0: up to MAX_WORKERS); 1 for one job per core in a batch

    def gain(self):
        """The gain rule the fill uses (slra_stats.GAIN_RULES). "auto" picks sqrt(rho) std_t / std_r ("correlation")
        when each pixel takes one date's value, and the paper's std_t / std_r when the median of several dates is
        taken (`combine` > 1): the median already averages out each date's own detail, so shrinking every date's
        gain would flatten the result (measured: tools/bench/bench_multi_date.py)."""
        if self.gain_rule != "auto":
            return self.gain_rule
        return "std_ratio" if self.slots() > 1 else "correlation"

    def slots(self):
        """Values kept per pixel and band while filling: 1 when each pixel takes one source's value (chained
        passes), else the most dates whose median is taken (`combine`, at most the number of sources)."""
        return min(int(self.combine), len(self.sources))

    def output_paths(self):
        return {"output": self.output, "source output": self.source_output,
                "remaining output": self.remaining_output}

    def input_paths(self):
        paths = {"input raster": self.input_path, "mask raster": self.mask}
        for i, s in enumerate(self.sources, start=1):
            paths[f"{s.label} {i}" if len(self.sources) > 1 else s.label] = s.path
            paths[f"mask of {s.label} {i}"] = s.mask
        paths.update(self.extra_inputs)
        return paths


@dataclass
class FillInputs:
    """The opened, checked and aligned datasets of a plan."""

    src: object
    nodata: list
    dtype: object
    mask: object          # MaskReader of the target's mask, or None
    replacements: list    # (dataset, alpha band or None, nodata list, MaskReader or None) per source


def check_plan(plan):
    """All checks that need no pixels, before anything is written; returns the opened input, the (what, replacement,
    mask) of each source and the target's mask dataset (or None)."""
    if not plan.sources:
        raise InputError("No replacement raster was given.")
    if plan.mask is None and not plan.fill_nodata:
        raise InputError("Nothing to fill: give a mask raster (or let the cloud mask be computed).")
    src = open_raster(plan.input_path, "input raster")
    nb, dtype = src.RasterCount, numpy_dtype(src, 1)
    check_parameters(plan.window_size, plan.buffer, src.RasterXSize, src.RasterYSize)
    if plan.gain_rule not in GAIN_CHOICES:
        raise InputError(f"GAIN must be one of {', '.join(GAIN_CHOICES)}; got {plan.gain_rule!r}.")
    if int(plan.combine) != plan.combine or not 1 <= plan.combine <= 255:
        raise InputError(f"COMBINE_DATES must be a whole number from 1 to 255; got {plan.combine}.")
    check_outputs(plan.output_paths(), plan.input_paths(), {"output": nb}, {"output": dtype})
    opened = []
    for i, s in enumerate(plan.sources, start=1):
        what = f"{s.label} {i} ('{s.path}')" if len(plan.sources) > 1 else s.label
        rep = open_raster(s.path, what)
        if rep.RasterCount != nb:
            raise InputError(f"The {what} has {rep.RasterCount} band(s) but the input has {nb}: they must have the "
                             "same bands in the same order.")
        msk = None
        if s.mask:
            msk = open_raster(s.mask, f"mask of the {what}")
            check_band(msk, s.mask_band, f"mask of the {what}")
        opened.append((what, rep, msk))
    target_mask = None
    if plan.mask:
        target_mask = open_raster(plan.mask, "mask raster")
        check_band(target_mask, plan.mask_band, "mask raster")
    return src, opened, target_mask


def open_plan(plan, progress):
    """Check the plan, then align every replacement and mask to the input's grid (warped VRTs, nothing on disk)."""
    src, opened, target_mask = check_plan(plan)
    w, h = src.RasterXSize, src.RasterYSize
    mask = None
    if target_mask is not None:
        ds, alpha = align_to(src, target_mask, "near", "mask raster", progress)
        mask = MaskReader(ds, plan.mask_band, alpha, plan.buffer, w, h, plan.mask_classes)
    replacements = []
    for s, (what, rep, msk) in zip(plan.sources, opened):
        ds, alpha = align_to(src, rep, "bilinear", what, progress)
        reader = None
        if msk is not None:
            mds, malpha = align_to(src, msk, "near", f"mask of the {what}", progress)
            reader = MaskReader(mds, s.mask_band, malpha, plan.buffer, w, h, s.mask_classes)
        replacements.append((ds, alpha, [band_nodata(ds, b) for b in range(1, src.RasterCount + 1)], reader))
    nodata = [band_nodata(src, b) for b in range(1, src.RasterCount + 1)]
    return FillInputs(src, nodata, numpy_dtype(src, 1), mask, replacements)
