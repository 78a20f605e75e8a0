"""Remap parsing (ArcGIS syntax and QGIS table) and application, with exact expectations."""

import math

import numpy as np
import pytest

from cloud_removal.algorithms.core.progress import InputError
from cloud_removal.algorithms.core.reclassify import output_type, smallest_int_type
from cloud_removal.algorithms.core.remap import Remap, RemapEntry, parse_remap, table_to_entries


def apply(text, values, keep=True, nodata=None, out_nodata=255, dtype=np.uint8):
    values = np.asarray(values)
    is_nd = values == nodata if nodata is not None else np.zeros(values.shape, bool)
    return Remap(tuple(parse_remap(text)), keep).apply(values, is_nd, dtype, out_nodata)


def test_parse_pairs_and_ranges():
    assert parse_remap("1 1;2 1;3 1") == [RemapEntry(1, 1, 1), RemapEntry(2, 2, 1), RemapEntry(3, 3, 1)]
    assert parse_remap(" 0 5 0 ; 5.5 10 2 ;") == [RemapEntry(0, 5, 0), RemapEntry(5.5, 10, 2)]
    assert parse_remap("NODATA 0;4 nodata") == [RemapEntry(None, None, 0), RemapEntry(4, 4, None)]


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("  ;  ", "no entries"),
    ("1", "has 1 item"),
    ("1 2 3 4", "has 4 item"),
    ("a 1", "old value 'a' is not a number"),
    ("1 x", "new value 'x' is not a number"),
    ("5 1 0", "lower bound 5 is above the upper bound 1"),
    ("1 1.5", "must be a whole number"),
    ("nan 1", "NaN"),
])
def test_malformed_remap_names_the_entry(text, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_remap(text)


def test_default_cloud_remap_with_data_missing_values():
    out = apply("1 1;2 1;3 1", [[0, 1, 2, 3, 4, 7]])
    assert out.tolist() == [[0, 1, 1, 1, 4, 7]]


def test_nodata_missing_values():
    out = apply("1 1;2 1;3 1;0 0", [[0, 1, 2, 3, 4, 7]], keep=False)
    assert out.tolist() == [[0, 1, 1, 1, 255, 255]]


def test_ranges_are_inclusive_and_first_entry_wins_on_overlap():
    out = apply("0 5 1;5 10 2", [[0, 4, 5, 6, 10, 11]])
    assert out.tolist() == [[1, 1, 1, 2, 2, 11]]
    out = apply("5 10 2;0 5 1", [[5]])
    assert out.tolist() == [[2]]


def test_input_nodata_stays_nodata_unless_mapped():
    assert apply("1 1", [[1, 9, 2]], nodata=9).tolist() == [[1, 255, 2]]
    assert apply("1 1;NODATA 0", [[1, 9, 2]], nodata=9).tolist() == [[1, 0, 2]]
    assert apply("1 NODATA", [[1, 9, 2]], nodata=9).tolist() == [[255, 255, 2]]


def test_float_values_and_ranges():
    out = apply("0 0.5 0;0.5 1 1", np.array([[0.0, 0.25, 0.5, 0.75, 1.0]]), keep=False)
    assert out.tolist() == [[0, 0, 0, 1, 1]]


def test_table_rows_open_ended_and_empty():
    entries = table_to_entries(["", "1", "0", "2", "", 1])
    assert entries == [RemapEntry(-math.inf, 1, 0), RemapEntry(2, math.inf, 1)]
    assert table_to_entries([None]) == []
    assert table_to_entries([]) == []
    with pytest.raises(InputError, match="three columns"):
        table_to_entries([1, 2])
    with pytest.raises(InputError, match="value is empty"):
        table_to_entries([1, 2, ""])
    with pytest.raises(InputError, match="minimum is above"):
        table_to_entries([3, 2, 1])


def test_lookup_table_matches_direct_application():
    remap = Remap(tuple(parse_remap("0 10 1;20 NODATA;-5 -1 3")), True)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16):
        info = np.iinfo(dtype)
        values = np.arange(info.min, info.max + 1).astype(dtype).reshape(1, -1)
        nd = 7 if info.min >= 0 else -7
        out_dtype, out_nd = output_type(remap, dtype, nd)
        lut, base = remap.lookup_table(np.dtype(dtype), nd, out_dtype, out_nd)
        direct = remap.apply(values, values == nd, out_dtype, out_nd)
        assert np.array_equal(lut[values.astype(np.int64) - base], direct)


def test_smallest_int_type():
    assert smallest_int_type(0, 255) == np.uint8
    assert smallest_int_type(0, 256) == np.uint16
    assert smallest_int_type(-1, 5) == np.int8
    assert smallest_int_type(0, 2 ** 40) == np.uint64


@pytest.mark.parametrize("text, keep, in_dtype, in_nd, expected", [
    ("1 1;2 1;3 1", True, np.uint8, 255, (np.uint8, 255)),       # model classes with nodata 255
    ("1 1;2 1;3 1", True, np.uint8, None, (np.uint8, None)),     # every uint8 value possible, no nodata needed
    ("1 1;2 1;0 0", False, np.uint8, None, (np.uint8, 255)),     # NODATA mode: 0/1 plus nodata
    ("1 1;2 1;0 0", False, np.uint16, 0, (np.uint8, 255)),       # small output even from uint16 input
    ("1 300", False, np.uint8, None, (np.uint16, 65535)),
    ("1 1", True, np.uint16, None, (np.uint16, None)),
    ("1 1", True, np.int16, -9999, (np.int16, -9999)),
    ("1 1", True, np.float32, None, (np.float32, "nan")),
    ("1 NODATA", True, np.uint8, None, (np.uint16, 65535)),     # uint8 values kept and a nodata needed
])
def test_output_type(text, keep, in_dtype, in_nd, expected):
    dtype, nodata = output_type(Remap(tuple(parse_remap(text)), keep), in_dtype, in_nd)
    assert dtype == np.dtype(expected[0])
    if expected[1] == "nan":
        assert math.isnan(nodata)
    else:
        assert nodata == expected[1]


def test_table_wins_over_the_remap_string_and_an_empty_pair_is_refused():
    from cloud_removal.algorithms.core.remap import remap_from

    remap, used = remap_from("1 1;2 1", ["0", "0", "5", "1", "2", "1"])
    assert "table (2 rows)" in used and len(remap.entries) == 2 and remap.entries[0].new == 5
    remap, used = remap_from("1 1;2 1", [])
    assert used == "the remap string" and len(remap.entries) == 2
    with pytest.raises(InputError, match="Give a remap string"):
        remap_from("  ", None)
