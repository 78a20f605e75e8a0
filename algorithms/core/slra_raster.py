"""Stepwise Local Radiometric Adjustment on raster files: the single-date fill, block-wise and in bounded memory.

A one-pass FillPlan run by the shared fill runner (fill_plan.py, fill_runner.py): the mask's pixels are filled from
one replacement image.
"""

from .fill_plan import DEFAULT_BUFFER, DEFAULT_WINDOW, MAX_BUFFER, FillPlan, Source, check_parameters, max_window
from .fill_runner import run_fill
from .gdal_env import gdal_scoped
from .progress import NULL_PROGRESS
from .raster_io import DEFAULT_BLOCK_PIXELS

__all__ = ["DEFAULT_BUFFER", "DEFAULT_WINDOW", "MAX_BUFFER", "check_parameters", "max_window", "run_slra"]


@gdal_scoped
def run_slra(input_path, replacement_path, mask_path, output_path, progress=NULL_PROGRESS,
             block_pixels=DEFAULT_BLOCK_PIXELS, **options):
    """Fill the masked pixels of INPUT from REPLACEMENT (Li et al. 2019) and write OUTPUT; returns a summary dict.

    `options` are FillPlan's fields: mask_band (1), window_size (80), buffer (2), residual_correction (True),
    gain_rule ("auto": "correlation" here), ring_width (2), min_common (25); an unknown name raises TypeError.
    Everything is checked before any output is written; a failure or cancel leaves no output.
    """
    options["mask_band"] = 1 if options.get("mask_band") is None else int(options["mask_band"])
    plan = FillPlan(input_path=str(input_path), sources=[Source(str(replacement_path))], output=str(output_path),
                    mask=str(mask_path) if mask_path else None, **options)
    summary = run_fill(plan, progress, block_pixels)
    if summary["fill_pixels"]:
        progress.log(summary_line(summary))
    return summary


def summary_line(s):
    """One log line: how many pixel-bands were filled and how (widened windows, fallbacks, no data)."""
    parts = [f"filled {s['filled']} pixel-bands"]
    if s["widened"]:
        parts.append(f"{s['widened']} of them with a widened window (too few common pixels)")
    if s.get("interpolated"):
        parts.append(f"{s['interpolated']} far inside large regions with the gain and offset interpolated from the "
                     "nearer rings")
    if s["fallback"]:
        parts.append(f"{s['fallback']} with the statistics of the whole region's surroundings")
    if s["remaining"]:
        parts.append(f"{s['remaining']} pixels had no usable replacement value or no statistics: set to nodata "
                     "where the input declares one, else left as in the input")
    return "SLRA: " + "; ".join(parts) + "."
