"""ArcGIS-style remap tables ("1 1;2 1;3 1", "0 5 1;5 10 2", "NODATA 0", "4 NODATA") and their application."""

import math
from dataclasses import dataclass

import numpy as np

from .progress import InputError

NODATA = "NODATA"
EXAMPLE = "e.g. '1 1;2 1;3 1' (old new pairs) or '0 5 0;5 10 1' (low high new ranges)"


@dataclass(frozen=True)
class RemapEntry:
    """Maps input values in [low, high] (or input nodata when low is None) to `new` (None = output nodata)."""

    low: object
    high: object
    new: object

    def is_nodata_source(self):
        return self.low is None


def _number(token, entry, what):
    try:
        value = float(token)
    except ValueError:
        raise InputError(f"Remap entry '{entry}': {what} '{token}' is not a number ({EXAMPLE}).") from None
    if math.isnan(value):
        raise InputError(f"Remap entry '{entry}': {what} may not be NaN.")
    return value


def _new_value(token, entry):
    if token.upper() == NODATA:
        return None
    value = _number(token, entry, "new value")
    if value != int(value):
        raise InputError(f"Remap entry '{entry}': the new value {token} must be a whole number "
                         "(the output is an integer class raster).")
    return int(value)


def parse_remap(text):
    """Parse an ArcGIS remap string into entries; raises InputError naming the malformed entry.

    Entries are separated by ';'. 'old new' maps one value, 'low high new' an inclusive range;
    'NODATA new' maps input nodata, 'old NODATA' makes a value nodata. Earlier entries win on overlap,
    so '0 5 1;5 10 2' maps 5 to 1 (as ArcGIS gives a shared boundary to the lower range).
    """
    if text is None or not str(text).strip():
        raise InputError(f"The remap string is empty; give at least one entry, {EXAMPLE}.")
    entries = []
    for raw in str(text).split(";"):
        entry = raw.strip()
        if not entry:
            continue
        tokens = entry.split()
        if len(tokens) == 2:
            if tokens[0].upper() == NODATA:
                entries.append(RemapEntry(None, None, _new_value(tokens[1], entry)))
                continue
            old = _number(tokens[0], entry, "old value")
            entries.append(RemapEntry(old, old, _new_value(tokens[1], entry)))
        elif len(tokens) == 3:
            low = _number(tokens[0], entry, "lower bound")
            high = _number(tokens[1], entry, "upper bound")
            if low > high:
                raise InputError(f"Remap entry '{entry}': the lower bound {tokens[0]} is above the upper "
                                 f"bound {tokens[1]}; write ranges as 'low high new'.")
            entries.append(RemapEntry(low, high, _new_value(tokens[2], entry)))
        else:
            raise InputError(f"Remap entry '{entry}' has {len(tokens)} item(s); each entry needs "
                             f"'old new' or 'low high new', separated by ';' ({EXAMPLE}).")
    if not entries:
        raise InputError(f"The remap string '{text}' has no entries; {EXAMPLE}.")
    return entries


def table_to_entries(table):
    """Entries from a flat QGIS matrix [min, max, value, ...]; an empty min or max is open-ended."""
    cells = list(table or [])
    if all(c is None or str(c).strip() in ("", "NULL") for c in cells):
        return []
    if len(cells) % 3:
        raise InputError("The reclassification table must have three columns: minimum, maximum, value.")
    entries = []
    for i in range(0, len(cells), 3):
        lo, hi, new = ("" if c is None or str(c).strip() == "NULL" else str(c).strip() for c in cells[i:i + 3])
        row = f"row {i // 3 + 1} ({lo}, {hi}, {new})"
        low = -math.inf if lo == "" else _number(lo, row, "minimum")
        high = math.inf if hi == "" else _number(hi, row, "maximum")
        if low > high:
            raise InputError(f"Reclassification table {row}: the minimum is above the maximum.")
        if new == "":
            raise InputError(f"Reclassification table {row}: the value is empty; give a whole number or NODATA.")
        entries.append(RemapEntry(low, high, _new_value(new, row)))
    return entries


@dataclass(frozen=True)
class Remap:
    """A parsed remap with its missing-values rule; applies to arrays and reports the output value set."""

    entries: tuple
    keep_missing: bool  # True: unmapped values keep their value (ArcGIS DATA); False: they become nodata

    def new_values(self):
        """The whole-number values the table can produce (nodata excluded)."""
        return sorted({e.new for e in self.entries if e.new is not None})

    def nodata_value_entry(self):
        """The entry mapping input nodata, or None."""
        return next((e for e in self.entries if e.is_nodata_source()), None)

    def apply(self, values, is_nodata, out_dtype, out_nodata):
        """Reclassify `values` (2-D) where `is_nodata` marks input nodata; returns an out_dtype array."""
        out = np.zeros(values.shape, dtype=out_dtype)
        assigned = np.zeros(values.shape, dtype=bool)
        valid = ~is_nodata
        for e in self.entries:  # earlier entries win
            if e.is_nodata_source():
                hit = is_nodata & ~assigned
            else:
                hit = valid & ~assigned & (values >= e.low) & (values <= e.high)
            if hit.any():
                out[hit] = out_nodata if e.new is None else e.new
                assigned |= hit
        rest = ~assigned
        if self.keep_missing:
            keep = rest & valid
            out[keep] = values[keep]
            rest &= is_nodata
        if out_nodata is not None:
            out[rest] = out_nodata
        return out

    def lookup_table(self, in_dtype, in_nodata, out_dtype, out_nodata):
        """For 8/16-bit integer input, a LUT over every possible input value (index = value - type min)."""
        info = np.iinfo(in_dtype)
        values = np.arange(info.min, info.max + 1, dtype=np.int64).reshape(1, -1)
        is_nodata = (values == in_nodata) if in_nodata is not None else np.zeros(values.shape, bool)
        return self.apply(values, is_nodata, out_dtype, out_nodata).ravel(), int(info.min)


def remap_from(text, table=None, keep_missing=True):
    """The Remap of the Reclassify parameters: the table's rows when it has any (they win over the string), else
    the remap string. Returns (Remap, which one was used, for the log)."""
    entries = table_to_entries(table)
    if entries:
        return Remap(tuple(entries), keep_missing=keep_missing), f"the reclassification table ({len(entries)} rows)"
    if not (text or "").strip():
        raise InputError("Give a remap string such as '1 1;2 1;3 1' or fill the reclassification table.")
    return Remap(tuple(parse_remap(text)), keep_missing=keep_missing), "the remap string"
