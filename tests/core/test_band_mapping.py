"""Band roles from explicit choices, wavelengths, descriptions and Sentinel-2 stack layouts."""

import pytest

from cloud_removal.algorithms.core.band_mapping import by_layout, map_bands, require_roles, s2_band_id
from cloud_removal.algorithms.core.progress import InputError

S2_13 = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]


@pytest.mark.parametrize("text, band", [("B02", "B02"), ("b2", "B02"), ("B8A", "B8A"), ("S2 B8a", "B8A"),
                                        ("B11 SWIR 1610nm", "B11"), ("blue (S2 B02)", "B02"), ("B12", "B12"),
                                        ("Band 1", None), ("B13", None), ("AB02", None), ("", None)])
def test_s2_band_id(text, band):
    assert s2_band_id(text) == band


def test_descriptions_13_band_prefers_b08():
    roles, how = map_bands(13, S2_13)
    assert roles == {"blue": 2, "green": 3, "red": 4, "nir": 8, "swir16": 12, "swir22": 13}
    assert "descriptions" in how


def test_descriptions_b8a_fallback_and_words():
    roles, _ = map_bands(5, ["B02", "B03", "B04", "B8A", "B11"])
    assert roles == {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir16": 5}
    roles, _ = map_bands(6, ["Red", "Green", "Blue", "NIR", "SWIR1", "SWIR2"])
    assert roles == {"red": 1, "green": 2, "blue": 3, "nir": 4, "swir16": 5, "swir22": 6}
    roles, _ = map_bands(6, ["blue (S2 B02)", "green (S2 B03)", "red (S2 B04)", "nir (S2 B08)",
                             "swir16 (S2 B11)", "swir22 (S2 B12)"])
    assert roles == {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir16": 5, "swir22": 6}


def test_wavelengths_win_and_pick_nearest():
    wl = {1: 443, 2: 490, 3: 560, 4: 665, 5: 705, 6: 783, 7: 842, 8: 865, 9: 1610, 10: 2190}
    roles, how = map_bands(10, ["Band 1"] * 10, wl)
    assert roles == {"blue": 2, "green": 3, "red": 4, "nir": 7, "swir16": 9, "swir22": 10}
    assert "wavelengths" in how


@pytest.mark.parametrize("count, expected", [
    (13, {"blue": 2, "green": 3, "red": 4, "nir": 8, "swir16": 12, "swir22": 13}),
    (12, {"blue": 2, "green": 3, "red": 4, "nir": 8, "swir16": 11, "swir22": 12}),
    (10, {"blue": 1, "green": 2, "red": 3, "nir": 7, "swir16": 9, "swir22": 10}),
    (6, {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir16": 5, "swir22": 6}),
])
def test_layouts(count, expected):
    assert by_layout(count) == expected
    roles, how = map_bands(count, [f"Band {i + 1}" for i in range(count)])
    assert roles == expected and "stack" in how


def test_unknown_layout_maps_nothing():
    roles, how = map_bands(7, [""] * 7)
    assert roles == {} and "no automatic mapping" in how
    with pytest.raises(InputError, match="Could not find the blue, green, red, nir band.*BLUE_BAND"):
        require_roles(roles, ["blue", "green", "red", "nir"], 7)


def test_explicit_overrides_and_errors():
    roles, how = map_bands(6, ["B02", "B03", "B04", "B08", "B11", "B12"], explicit={"nir": 4, "swir22": None})
    assert roles["nir"] == 4 and roles["swir22"] == 6 and how.startswith("explicit nir")
    roles, _ = map_bands(4, ["a", "b", "c", "d"], explicit={"blue": 3, "green": 2, "red": 1, "nir": 4})
    assert roles == {"blue": 3, "green": 2, "red": 1, "nir": 4}
    with pytest.raises(InputError, match="The red band 9 does not exist: the input raster has 6 band"):
        map_bands(6, [], explicit={"red": 9})
    with pytest.raises(InputError, match="Band 2 is given as both"):
        map_bands(6, [], explicit={"red": 2, "green": 2})


def test_explicit_band_not_reused_by_auto():
    # the user puts red on band 1; the layout's blue (band 1) is then left unmapped rather than doubled
    roles, _ = map_bands(6, [""] * 6, explicit={"red": 1})
    assert roles["red"] == 1 and "blue" not in roles
