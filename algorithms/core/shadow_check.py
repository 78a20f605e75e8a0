"""Physically consistent cloud shadows: a shadow region (8-connected component of the shadow class) is kept only
where a cloud could cast it; the other shadow pixels become clear.

A cloud at height h casts its shadow h x tan(sun zenith) away from the sun. With the sun angles known, a shadow
pixel is reachable when a cloud lies behind it, towards the sun, within MAX_CLOUD_HEIGHT x tan(zenith) (and within
SIDE_TOLERANCE of that distance sideways: cloud edges, parallax, the sun's direction varying over the scene);
without them, when a cloud lies within MAX_CLOUD_HEIGHT x tan(ISOTROPIC_ZENITH) in any direction. A region is kept
when any of its pixels is reachable.

Streamed in bounded memory: while the classes are written, clouds go into a coarse whole-scene map (at most
MAX_CELLS cells); the reach is computed on that map, then the written class raster is read twice in strips, once
to label the shadow regions and merge them across strips (morphology.RegionSizes), once to clear the regions that
no cloud reaches. Nothing of the scene is held at full resolution.
"""

import math
from dataclasses import dataclass

import numpy as np

from .morphology import RegionSizes, grow_disk, label_block
from .progress import InputError

DEFAULT_MAX_CLOUD_HEIGHT = 12000.0  # m; cloud tops above 12 km are rare outside the tropics' deep convection
ISOTROPIC_ZENITH = 60.0  # degrees: without sun angles, shadows are looked for within height x tan(60 deg) of a cloud
SIDE_TOLERANCE = 0.1     # share of the shadow distance allowed sideways and behind the cloud
MAX_STEPS = 256          # coarse cells along the shadow distance at most
MAX_CELLS = 4_000_000    # cells of the coarse cloud map at most (4 MB)
STRIP_ROWS = 512
AZIMUTH_KEYS = ("SUN_AZIMUTH", "MEAN_SUN_AZIMUTH_ANGLE", "SUN_AZIMUTH_ANGLE", "SOLAR_AZIMUTH")
ZENITH_KEYS = ("SUN_ZENITH", "MEAN_SUN_ZENITH_ANGLE", "SUN_ZENITH_ANGLE", "SOLAR_ZENITH")
ELEVATION_KEYS = ("SUN_ELEVATION", "SUN_ELEVATION_ANGLE", "SOLAR_ELEVATION")


@dataclass
class ShadowPlan:
    """What the check needs: class values, the reach in input pixels and the direction (None: any)."""

    shadow_value: int
    cloud_values: tuple
    clear_value: int
    reach_px: float
    direction: tuple = None  # (dx, dy): unit vector in pixel columns/rows pointing away from the sun
    cell: int = 1            # input pixels per coarse cell (each way)

    @property
    def steps(self):
        """The shadow distance in coarse cells."""
        return self.reach_px / self.cell


def _first_number(md, keys):
    for key in keys:
        for k, v in md.items():
            if k.upper() == key:
                try:
                    value = float(v)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    return value, k
    return None, None


def sun_angles(ds):
    """(azimuth, zenith, where from) in degrees from the raster's metadata (default and IMAGERY domains, then the
    first band): MEAN_SUN_AZIMUTH_ANGLE / MEAN_SUN_ZENITH_ANGLE (Sentinel-2), SUN_AZIMUTH / SUN_ELEVATION (Landsat
    MTL) and the like; None when either angle is missing."""
    sources = [ds.GetMetadata(domain) or {} for domain in ("", "IMAGERY")]
    if ds.RasterCount:
        sources.append(ds.GetRasterBand(1).GetMetadata() or {})
    for md in sources:
        az, az_key = _first_number(md, AZIMUTH_KEYS)
        zen, zen_key = _first_number(md, ZENITH_KEYS)
        if zen is None:
            elev, zen_key = _first_number(md, ELEVATION_KEYS)
            zen = None if elev is None else 90.0 - elev
        if az is not None and zen is not None:
            return az, zen, f"metadata {az_key}, {zen_key}"
    return None


def shadow_direction(azimuth, geotransform):
    """Unit vector (dx, dy) in pixel columns and rows pointing away from the sun (where shadows fall).

    azimuth: degrees clockwise from north. The map direction (east, north) = -(sin az, cos az) is taken to pixels
    through the geotransform, so north-up, south-up and rotated grids all work.
    """
    east, north = -math.sin(math.radians(azimuth)), -math.cos(math.radians(azimuth))
    a = np.array([[geotransform[1], geotransform[2]], [geotransform[4], geotransform[5]]], float)
    d = np.linalg.solve(a, [east, north])
    return tuple(float(v) for v in d / np.hypot(*d))


def choose_cell(reach_px, width, height):
    """Input pixels per coarse cell: at most MAX_STEPS cells along the reach and MAX_CELLS cells in the map."""
    return max(1, math.ceil(reach_px / MAX_STEPS), math.ceil(math.sqrt(width * height / MAX_CELLS)))


def reach_map(cloud, direction, steps):
    """Cells where a cloud of `cloud` could cast a shadow.

    Parameters
    ----------
    cloud : ndarray of bool, (rows, cols)
        Cloud cells.
    direction : tuple of float or None
        (dx, dy) unit vector away from the sun in cells; None for any direction.
    steps : float
        The largest shadow distance in cells.

    Returns
    -------
    ndarray of bool
        With a direction: the cloud swept `steps` cells along it, then grown by a disk of
        max(1, SIDE_TOLERANCE x steps) cells. Without: the cloud grown by a disk of `steps` cells.
    """
    if direction is None:
        return grow_disk(cloud, math.ceil(steps))
    out = cloud.copy()
    h, w = cloud.shape
    done = {(0, 0)}
    for s in range(1, math.ceil(steps) + 1):
        t = min(float(s), steps)
        dx, dy = int(round(t * direction[0])), int(round(t * direction[1]))
        if (dx, dy) in done or abs(dx) >= w or abs(dy) >= h:
            continue
        done.add((dx, dy))
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] |= \
            cloud[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return grow_disk(out, max(1, math.ceil(SIDE_TOLERANCE * steps)))


class ShadowFilter:
    """The streamed check: add_classes() for every written row block (any order), then apply() over the written
    class raster."""

    def __init__(self, plan, height, width):
        self.plan, self.height, self.width = plan, int(height), int(width)
        k = plan.cell
        self.coarse = np.zeros((-(-self.height // k), -(-self.width // k)), bool)
        self.removed = self.shadow_pixels = self.regions = self.removed_regions = 0

    def add_classes(self, row0, classes):
        """Record the clouds of class rows row0.. (a (rows, width) array) in the coarse cloud map."""
        k = self.plan.cell
        cloud = np.isin(classes, self.plan.cloud_values)
        if not cloud.any():
            return
        pad = self.coarse.shape[1] * k - cloud.shape[1]
        cols = np.pad(cloud, ((0, 0), (0, pad))).reshape(cloud.shape[0], -1, k).any(axis=2)
        cy = (row0 + np.arange(cloud.shape[0])) // k
        starts = np.flatnonzero(np.r_[True, cy[1:] != cy[:-1]])
        self.coarse[cy[starts]] |= np.logical_or.reduceat(cols, starts, axis=0)

    def _strips(self, rows):
        return [(i, y, min(rows, self.height - y)) for i, y in enumerate(range(0, self.height, rows))]

    def apply(self, read, write, rows=STRIP_ROWS, check=None):
        """Clear the shadow regions no cloud reaches: read(y, n) gives class rows y..y+n, write(classes, y) writes
        the rows that changed. Returns the number of pixels cleared."""
        p, k = self.plan, self.plan.cell
        reach = reach_map(self.coarse, p.direction, p.steps)
        cols = np.arange(self.width) // k
        regions = RegionSizes()
        for i, y, n in self._strips(rows):
            shadow = read(y, n) == p.shadow_value
            labels, count = label_block(shadow)
            hit = reach[(y + np.arange(n)) // k][:, cols] & shadow
            regions.add((i, 0), labels, count, np.bincount(labels[hit], minlength=count + 1)[1:])
            self.shadow_pixels += int(shadow.sum())
            if check:
                check()
        regions.finish(1)
        self.regions, self.removed_regions = regions.count, regions.count - regions.kept
        for i, y, n in self._strips(rows):
            classes = read(y, n)
            labels, _ = label_block(classes == p.shadow_value)
            drop = (labels > 0) & ~regions.keep((i, 0), labels)
            if drop.any():
                classes[drop] = p.clear_value
                write(classes, y)
                self.removed += int(drop.sum())
            if check:
                check()
        return self.removed


def consistent_shadows(classes, plan, rows=STRIP_ROWS):
    """The check on a whole (rows, cols) class array in memory (tests, small rasters): a copy with the shadow
    regions no cloud reaches set to the clear class, computed in strips of `rows` rows exactly as streamed."""
    out = np.array(classes, copy=True)
    f = ShadowFilter(plan, *out.shape)
    for y in range(0, out.shape[0], rows):
        f.add_classes(y, out[y:y + rows])

    def write(a, y):
        out[y:y + a.shape[0]] = a

    f.apply(lambda y, n: out[y:y + n].copy(), write, rows)
    return out


def _class_value(card, words):
    for value, name in enumerate(card.class_names):
        if any(w in str(name).lower() for w in words):
            return value
    return None


def plan_shadow_check(ds, card, pixel_m, max_cloud_height=DEFAULT_MAX_CLOUD_HEIGHT, sun_azimuth=None,
                      sun_zenith=None):
    """(ShadowPlan or None, a line for the log) for a raster `ds` classified with `card`; InputError on bad values.

    The sun angles come from the parameters when both are given, else from the metadata (sun_angles); without
    them the reach is isotropic. None (with the reason) when the card has no shadow or cloud class or the pixel
    size is unknown (no georeference).
    """
    height = DEFAULT_MAX_CLOUD_HEIGHT if max_cloud_height is None else float(max_cloud_height)
    if not height > 0 or not math.isfinite(height):
        raise InputError(f"MAX_CLOUD_HEIGHT must be a height in metres above 0 (default 12000); got {height:g}.")
    if (sun_azimuth is None) != (sun_zenith is None):
        raise InputError("Give both SUN_AZIMUTH and SUN_ZENITH (degrees), or neither to take them from the "
                         "metadata.")
    if sun_zenith is not None and not (0 <= sun_zenith <= 85 and 0 <= sun_azimuth <= 360):
        raise InputError(f"SUN_ZENITH must be 0-85 degrees and SUN_AZIMUTH 0-360 degrees (clockwise from north); "
                         f"got {sun_zenith:g} and {sun_azimuth:g}.")
    shadow = _class_value(card, ("shadow",))
    clear = _class_value(card, ("clear",))
    if shadow is None or not card.cloud_classes:
        return None, f"shadow check: model {card.id} has no cloud shadow class, nothing to check"
    if pixel_m is None:
        return None, "shadow check skipped: the input has no georeference, so shadow distances are unknown"
    if sun_zenith is not None:
        angles = (float(sun_azimuth), float(sun_zenith), "SUN_AZIMUTH, SUN_ZENITH parameters")
    else:
        angles = sun_angles(ds)
    if angles is not None and angles[1] > 85:
        angles = None
    zenith = ISOTROPIC_ZENITH if angles is None else angles[1]
    reach_m = height * math.tan(math.radians(zenith))
    reach_px = reach_m / pixel_m
    direction = None if angles is None else shadow_direction(angles[0], ds.GetGeoTransform())
    cell = choose_cell(reach_px, ds.RasterXSize, ds.RasterYSize)
    plan = ShadowPlan(shadow_value=shadow, cloud_values=tuple(card.cloud_classes),
                      clear_value=0 if clear is None else clear, reach_px=reach_px, direction=direction, cell=cell)
    if angles is None:
        where = (f"within {reach_m / 1000:.1f} km of a cloud in any direction (no sun angles in the metadata: "
                 f"MAX_CLOUD_HEIGHT {height:g} m x tan {ISOTROPIC_ZENITH:g} deg)")
    else:
        where = (f"up to {reach_m / 1000:.1f} km from a cloud away from the sun (azimuth {angles[0]:g} deg, zenith "
                 f"{angles[1]:g} deg from the {angles[2]}; MAX_CLOUD_HEIGHT {height:g} m)")
    return plan, f"shadow check: shadow regions are kept only {where}; cloud map cells of {cell} px"
