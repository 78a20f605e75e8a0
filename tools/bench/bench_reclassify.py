"""Benchmark Reclassify Cloud Types against QGIS's native:reclassifybytable on a full-size S2 tile.

Writes a synthetic 10980 x 10980 uint8 class raster (classes 0-3 in blobs, nodata 255) under build/bench,
then runs each algorithm in its own fresh QGIS process and prints wall time and peak RSS.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "bench"
SIZE = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "--make" else 10980


def make_classes(path, size):
    """A size x size tiled uint8 raster of cloud-like class blobs, written by row blocks of 1024."""
    gdal.UseExceptions()
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size, size, 1, gdal.GDT_Byte,
                                              ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"])
    ds.SetGeoTransform((300000, 10, 0, 5900040, 0, -10))
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(255)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:1024, 0:size]
    for y in range(0, size, 1024):
        h = min(1024, size - y)
        field = np.sin((xx[:h] + rng.integers(0, 50)) / 97.0) + np.cos((yy[:h] + y) / 131.0)
        field += rng.random((h, size)) * 0.6
        classes = np.digitize(field, [0.4, 0.9, 1.4]).astype(np.uint8)
        band.WriteArray(classes, 0, y)
    band.WriteArray(np.full((64, 64), 255, np.uint8), 0, 0)
    ds = None


def run(alg, params):
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("run_alg.py")), alg, json.dumps(params)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{alg} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


CORE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[4])
from peak_memory import peak_rss_mb
from cloud_removal.algorithms.core.reclassify import reclassify_raster
from cloud_removal.algorithms.core.remap import Remap, parse_remap
t = time.perf_counter()
reclassify_raster(sys.argv[2], 1, Remap(tuple(parse_remap("1 1;2 1;3 1")), True), sys.argv[3])
print(json.dumps({"seconds": time.perf_counter() - t,
                  "max_rss_mb": peak_rss_mb()}))
"""


def core_only(src, out):
    """The numeric core without QGIS, to show its own memory bound beside QGIS's start-up footprint."""
    proc = subprocess.run([sys.executable, "-c", CORE, str(ROOT / "build" / "plugins"), str(src), str(out),
                           str(Path(__file__).resolve().parent)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    src = OUT / f"classes_{SIZE}.tif"
    if not src.exists():  # in a child process: a forked child's peak RSS would include this one's arrays
        subprocess.run([sys.executable, __file__, "--make", str(src), str(SIZE)], check=True)
    mpix = SIZE * SIZE / 1e6
    cases = [
        ("QGIS start-up only (baseline)", "none", {}),
        ("cloudremoval:reclassifycloudtypes '1 1;2 1;3 1' DATA", "cloudremoval:reclassifycloudtypes",
         {"INPUT": str(src), "REMAP": "1 1;2 1;3 1", "OUTPUT": str(OUT / "ours.tif")}),
        ("native:reclassifybytable [1,3]->1, Byte", "native:reclassifybytable",
         {"INPUT_RASTER": str(src), "RASTER_BAND": 1, "TABLE": [1, 3, 1], "RANGE_BOUNDARIES": 2,
          "NO_DATA": 255, "DATA_TYPE": 0, "OUTPUT": str(OUT / "native_byte.tif")}),
        ("native:reclassifybytable [1,3]->1, default Float32", "native:reclassifybytable",
         {"INPUT_RASTER": str(src), "RASTER_BAND": 1, "TABLE": [1, 3, 1], "RANGE_BOUNDARIES": 2,
          "OUTPUT": str(OUT / "native_float.tif")}),
        ("cloudremoval:reclassifycloudtypes + MIN_REGION 50", "cloudremoval:reclassifycloudtypes",
         {"INPUT": str(src), "MIN_REGION": 50, "OUTPUT": str(OUT / "ours_minregion.tif")}),
        ("cloudremoval:reclassifycloudtypes + GROW 5", "cloudremoval:reclassifycloudtypes",
         {"INPUT": str(src), "GROW": 5, "OUTPUT": str(OUT / "ours_grow.tif")}),
    ]
    print(f"\nReclassify benchmark: {SIZE} x {SIZE} uint8 ({mpix:.1f} Mpixel), one fresh QGIS process per row\n")
    print(f"| {'case':<55} | {'seconds':>8} | {'Mpixel/s':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 57}|{'-' * 10}|{'-' * 10}|{'-' * 13}|")
    for label, alg, params in cases:
        r = run(alg, params)
        rate = f"{mpix / r['seconds']:.1f}" if alg != "none" else "-"
        print(f"| {label:<55} | {r['seconds']:>8.2f} | {rate:>8} | {r['max_rss_mb']:>11.0f} |", flush=True)
    r = core_only(src, OUT / "core.tif")
    print(f"| {'core reclassify_raster alone, plain Python (no QGIS)':<55} | {r['seconds']:>8.2f} | "
          f"{mpix / r['seconds']:>8.1f} | {r['max_rss_mb']:>11.0f} |")
    ours_ds, native_ds = gdal.Open(str(OUT / "ours.tif")), gdal.Open(str(OUT / "native_byte.tif"))
    ours, native = ours_ds.GetRasterBand(1).Checksum(), native_ds.GetRasterBand(1).Checksum()
    print(f"\nSame result as native Byte output: {'yes' if ours == native else 'NO'} (checksums {ours}, {native})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make"]:
        make_classes(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
