"""Physically consistent shadows on small arrays: exact expectations (0 clear, 1 cloud, 2 shadow)."""

import math

import numpy as np
import pytest

from algorithms.core.shadow_check import (
    ShadowPlan,
    choose_cell,
    consistent_shadows,
    reach_map,
    shadow_direction,
    sun_angles,
)

NORTH_UP = (0.0, 10.0, 0.0, 0.0, 0.0, -10.0)


def plan(direction=None, reach=10.0, cell=1):
    return ShadowPlan(shadow_value=2, cloud_values=(1,), clear_value=0, reach_px=reach, direction=direction,
                      cell=cell)


def scene():
    """A cloud in rows 20-22; shadows 8 rows north of it, 4 rows south of it and 18 rows north of it."""
    c = np.zeros((32, 24), np.uint8)
    c[20:23, 10:13] = 1
    c[10:13, 10:13] = 2   # north, 8-10 rows away: where a southern sun puts the shadow
    c[26:29, 10:13] = 2   # south, the sun's side
    c[0:2, 10:13] = 2     # north, 19-20 rows away: beyond the reach
    return c


def test_direction_away_from_the_sun():
    assert shadow_direction(180.0, NORTH_UP) == pytest.approx((0.0, -1.0))  # sun south: shadows up (north)
    assert shadow_direction(90.0, NORTH_UP) == pytest.approx((-1.0, 0.0))   # sun east: shadows west
    south_up = (0.0, 10.0, 0.0, 0.0, 0.0, 10.0)
    assert shadow_direction(180.0, south_up) == pytest.approx((0.0, 1.0))


def test_cloud_casting_its_shadow_kept_sun_side_and_far_removed():
    c = scene()
    out = consistent_shadows(c, plan(direction=(0.0, -1.0)))
    expected = c.copy()
    expected[26:29, 10:13] = 0
    expected[0:2, 10:13] = 0
    np.testing.assert_array_equal(out, expected)


def test_shadow_without_cloud_removed():
    c = scene()
    c[c == 1] = 0
    out = consistent_shadows(c, plan(direction=(0.0, -1.0)))
    np.testing.assert_array_equal(out, np.zeros_like(c))
    out = consistent_shadows(c, plan(direction=None))
    np.testing.assert_array_equal(out, np.zeros_like(c))


def test_isotropic_fallback_keeps_both_sides_within_the_distance():
    c = scene()
    out = consistent_shadows(c, plan(direction=None))
    expected = c.copy()
    expected[0:2, 10:13] = 0  # 18 rows from the cloud: beyond 10 px in any direction
    np.testing.assert_array_equal(out, expected)


def test_region_kept_whole_when_part_of_it_is_reached_across_strips():
    c = scene()
    c[2:10, 12] = 2  # joins the far shadow (rows 0-1) to the near one (rows 10-12): one region
    whole = consistent_shadows(c, plan(direction=(0.0, -1.0)), rows=1000)
    for rows in (1, 3, 4, 7):
        np.testing.assert_array_equal(consistent_shadows(c, plan(direction=(0.0, -1.0)), rows=rows), whole)
    assert (whole[0:2, 10:13] == 2).all() and (whole[26:29, 10:13] == 0).all()


def test_other_classes_and_nodata_untouched():
    c = scene()
    c[5, 5] = 255
    out = consistent_shadows(c, plan(direction=(0.0, -1.0)))
    assert out[5, 5] == 255 and (out[20:23, 10:13] == 1).all()


def test_coarse_cells_keep_what_full_resolution_keeps():
    c = scene()
    fine = consistent_shadows(c, plan(direction=(0.0, -1.0)))
    coarse = consistent_shadows(c, plan(direction=(0.0, -1.0), cell=2))
    assert ((fine == 2) <= (coarse == 2)).all()  # coarse cells may keep a little more, never less


def test_reach_map_sweep():
    cloud = np.zeros((7, 7), bool)
    cloud[6, 3] = True
    r = reach_map(cloud, (0.0, -1.0), 3.0)
    assert r[3:7, 3].all() and not r[0:2, 3].any()  # swept 3 up, grown by 1
    assert r[2, 3] and r[5, 2] and not r[6, 0]


def test_choose_cell():
    assert choose_cell(10, 100, 100) == 1
    assert choose_cell(2078, 10980, 10980) == math.ceil(2078 / 256)
    assert choose_cell(10, 20000, 20000) == 10


def test_sun_angles_from_metadata(tmp_path):
    from osgeo import gdal

    ds = gdal.GetDriverByName("MEM").Create("", 4, 4, 1, gdal.GDT_Byte)
    assert sun_angles(ds) is None
    ds.SetMetadata({"MEAN_SUN_AZIMUTH_ANGLE": "150.5", "MEAN_SUN_ZENITH_ANGLE": "35"})
    assert sun_angles(ds)[:2] == (150.5, 35.0)
    ds.SetMetadata({"SUN_AZIMUTH": "120", "SUN_ELEVATION": "60"})
    assert sun_angles(ds)[:2] == (120.0, 30.0)
