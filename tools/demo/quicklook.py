"""Quicklook PNGs for the demo: true colour with a percentile stretch, class overlays, side-by-side panels."""

import os

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

CLASS_COLOURS = {1: (255, 64, 255), 2: (255, 190, 0)}  # cloud magenta, cloud shadow amber


def true_colour(path, rgb=(3, 2, 1), stretch=None):
    """An (h, w, 3) uint8 image of bands `rgb` stretched between the 2nd and 98th percentile of valid pixels.

    Returns the image and the stretch used, so before/after images can share one stretch.
    """
    ds = gdal.Open(str(path))
    bands = np.stack([ds.GetRasterBand(b).ReadAsArray().astype(np.float64) for b in rgb], axis=-1)
    nodata = ds.GetRasterBand(rgb[0]).GetNoDataValue()
    invalid = (bands == 0).all(axis=-1) if nodata is None or nodata == 0 else (bands == nodata).any(axis=-1)
    if stretch is None:
        valid = bands[~invalid]
        stretch = (np.percentile(valid, 2, axis=0), np.percentile(valid, 98, axis=0))
    low, high = stretch
    image = np.clip((bands - low) / np.maximum(high - low, 1e-9) * 255, 0, 255).astype(np.uint8)
    image[invalid] = 0
    return image, stretch


def overlay(image, classes, alpha=0.55):
    """Blend class colours over an RGB image where the class raster has cloud (1) or shadow (2)."""
    out = image.astype(np.float64)
    for value, colour in CLASS_COLOURS.items():
        hit = classes == value
        out[hit] = (1 - alpha) * out[hit] + alpha * np.array(colour)
    return out.astype(np.uint8)


def panel(images, gap=6, scale=1):
    """Images side by side (same height), each enlarged `scale` times, on a white background."""
    images = [np.repeat(np.repeat(i, scale, axis=0), scale, axis=1) for i in images]
    height = max(i.shape[0] for i in images)
    width = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    out = np.full((height, width, 3), 255, np.uint8)
    x = 0
    for i in images:
        out[:i.shape[0], x:x + i.shape[1]] = i
        x += i.shape[1] + gap
    return out


def write_png(path, image):
    """Write an (h, w, 3) uint8 array as PNG."""
    mem = gdal.GetDriverByName("MEM").Create("", image.shape[1], image.shape[0], 3, gdal.GDT_Byte)
    for b in range(3):
        mem.GetRasterBand(b + 1).WriteArray(image[:, :, b])
    gdal.GetDriverByName("PNG").CreateCopy(str(path), mem)
    if os.path.exists(f"{path}.aux.xml"):
        os.remove(f"{path}.aux.xml")


def read(path, band=1):
    """One band as an array (the dataset is kept alive while the band is read)."""
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(band).ReadAsArray()
