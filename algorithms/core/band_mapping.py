"""Which raster band holds blue, green, red, nir, swir16 and swir22: from user choices, band wavelengths,
band descriptions (B02, Blue, ...) or common Sentinel-2 stack layouts, so users rarely have to pick bands."""

import re

from .progress import InputError

ROLES = ("blue", "green", "red", "nir", "swir16", "swir22")

# Sentinel-2 band ids per role, preferred first (B08 is the nir band of ukis-csmask; B8A is the fallback).
S2_IDS = {"blue": ("B02",), "green": ("B03",), "red": ("B04",), "nir": ("B08", "B8A"),
          "swir16": ("B11",), "swir22": ("B12",)}

# Band names per role (lower case, whole words), preferred first.
NAMES = {"blue": ("blue",), "green": ("green",), "red": ("red",), "nir": ("nir", "nir08", "nir narrow", "nir_narrow"),
         "swir16": ("swir16", "swir1", "swir 1", "swir-1", "swir_1"),
         "swir22": ("swir22", "swir2", "swir 2", "swir-2", "swir_2")}

# Wavelength windows (nm) and the preferred centre per role.
WAVELENGTHS = {"blue": (440, 520, 490), "green": (530, 590, 560), "red": (620, 690, 665),
               "nir": (760, 900, 842), "swir16": (1550, 1750, 1610), "swir22": (2050, 2350, 2190)}

# Common Sentinel-2 stacks recognised by their band count.
LAYOUTS = {
    13: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"),
    12: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"),
    10: ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"),
    6: ("B02", "B03", "B04", "B08", "B11", "B12"),
}
LAYOUT_NAMES = {13: "13-band L1C stack B01..B12 with B8A", 12: "12-band L2A stack B01..B12 with B8A, no B10",
                10: "10-band 10/20 m stack B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12",
                6: "6-band stack blue, green, red, nir, swir16, swir22 (B02, B03, B04, B08, B11, B12)"}


def s2_band_id(description):
    """The Sentinel-2 band id (B01..B12, B8A) named in a description such as 'B2', 'B02 blue' or 'S2 B8A', or None."""
    m = re.search(r"(?<![A-Za-z0-9])B0?(8A|[1-9]|1[0-2])(?![0-9A-Za-z])", description or "", re.IGNORECASE)
    if not m:
        return None
    token = m.group(1).upper()
    return "B8A" if token == "8A" else f"B{int(token):02d}"


def _name_role(description):
    """The role a description names in words ('Blue', 'swir16 (S2 B11)', 'NIR'), or None."""
    text = (description or "").lower()
    for role in ROLES:
        for name in NAMES[role]:
            if re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text):
                return role
    return None


def _pick(candidates, role, rank):
    """The band with the best rank for a role among (band, key) candidates, or None."""
    best = [(rank(key), band) for band, key in candidates if rank(key) is not None]
    return min(best)[1] if best else None


def by_wavelength(wavelengths):
    """Roles from central wavelengths in nm ({band: nm}); each role takes the band nearest its preferred centre."""
    roles = {}
    for role, (lo, hi, centre) in WAVELENGTHS.items():
        inside = [(abs(nm - centre), band) for band, nm in wavelengths.items() if lo <= nm <= hi]
        if inside:
            roles[role] = min(inside)[1]
    return roles


def by_description(descriptions):
    """Roles from band descriptions (list, band 1 first): Sentinel-2 ids first, then colour/wavelength names."""
    roles = {}
    ids = [(i + 1, s2_band_id(d)) for i, d in enumerate(descriptions)]
    for role, wanted in S2_IDS.items():
        band = _pick(ids, role, lambda key, w=wanted: w.index(key) if key in w else None)
        if band is not None:
            roles[role] = band
    if roles:
        return roles
    named = [(i + 1, _name_role(d)) for i, d in enumerate(descriptions)]
    for role in ROLES:
        band = _pick(named, role, lambda key, r=role: 0 if key == r else None)
        if band is not None:
            roles[role] = band
    return roles


def by_layout(band_count):
    """Roles for a recognised Sentinel-2 stack layout of band_count bands (empty if none)."""
    layout = LAYOUTS.get(band_count)
    if not layout:
        return {}
    return {role: layout.index(next(i for i in S2_IDS[role] if i in layout)) + 1 for role in ROLES}


def map_bands(band_count, descriptions=None, wavelengths=None, explicit=None):
    """Band number (1-based) per role and a sentence saying how they were found.

    explicit: {role: band or None} from the user, which always wins; the other roles come from the first source
    that finds blue, green, red and nir: wavelengths ({band: nm}), then descriptions, then the stack layout.
    Raises InputError for an explicit band outside 1..band_count or one band given two roles.
    """
    explicit = {r: b for r, b in (explicit or {}).items() if b is not None and r in ROLES}
    for role, band in explicit.items():
        if not 1 <= int(band) <= band_count:
            raise InputError(f"The {role} band {band} does not exist: the input raster has {band_count} band(s). "
                             f"Set {role.upper()}_BAND to a band from 1 to {band_count}, or leave it empty to map "
                             "it automatically.")
    auto, how = {}, "no automatic mapping (unrecognised band names and layout)"
    sources = (("band wavelengths (CENTRAL_WAVELENGTH_NM)", lambda: by_wavelength(wavelengths or {})),
               ("band descriptions", lambda: by_description(descriptions or [])),
               (LAYOUT_NAMES.get(band_count, ""), lambda: by_layout(band_count)))
    partial = []
    for name, finder in sources:
        found = finder()
        if all(r in found for r in ROLES[:4]):
            auto, how = found, f"from the {name}"
            break
        if found:
            partial.append((-len(found), len(partial), found, name))
    else:
        if partial:  # none found all four: keep the most complete, so messages can say what is missing
            _, _, auto, name = min(partial)
            how = f"partly from the {name}"
    roles = {r: int(b) for r, b in explicit.items()}
    taken = set(roles.values())
    for role in ROLES:
        if role not in roles and role in auto and auto[role] not in taken:
            roles[role] = auto[role]
            taken.add(auto[role])
    seen = {}
    for role, band in roles.items():
        if band in seen:
            raise InputError(f"Band {band} is given as both {seen[band]} and {role}; each role needs its own band.")
        seen[band] = role
    if explicit:
        how = "explicit " + ", ".join(sorted(explicit)) + ("; others " + how if len(explicit) < len(roles) else "")
    return roles, how


def require_roles(roles, needed, band_count):
    """Raise InputError naming the missing roles unless every role in `needed` is mapped."""
    missing = [r for r in needed if r not in roles]
    if missing:
        params = ", ".join(f"{r.upper()}_BAND" for r in missing)
        raise InputError(f"Could not find the {', '.join(missing)} band(s) among the {band_count} input band(s) "
                         f"(mapped: {describe(roles) or 'none'}). Set {params} to the band numbers, or give the "
                         "bands descriptions such as 'B02' or 'blue'.")


def describe(roles):
    """'blue=1, green=2, ...' in role order."""
    return ", ".join(f"{r}={roles[r]}" for r in ROLES if r in roles)


S2_BAND_IDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")


def map_s2_ids(needed, band_count, descriptions, model_id=""):
    """{id: band} for models that name Sentinel-2 bands (b01 ... b12, b8a, lower case as in cards): from the band
    descriptions ('B01', 'S2 B8A', ...), else from a 13-band L1C stack B01..B12 with B8A (or a 12-band stack
    without B10). Raises InputError naming the bands not found and how to fix it."""
    found = {}
    for i, d in enumerate(descriptions or []):
        sid = s2_band_id(d)
        if sid and sid.lower() in needed and sid.lower() not in found:
            found[sid.lower()] = i + 1
    how = "band descriptions"
    if len(found) < len(needed) and band_count in (12, 13):
        layout = LAYOUTS[band_count]
        by_count = {b.lower(): layout.index(b) + 1 for b in layout if b.lower() in needed}
        if len(by_count) > len(found):
            found, how = by_count, LAYOUT_NAMES[band_count]
    missing = [n.upper() for n in needed if n not in found]
    if missing:
        raise InputError(f"Model '{model_id}' needs the Sentinel-2 bands {', '.join(n.upper() for n in needed)}; "
                         f"{', '.join(missing)} not found among the {band_count} input band(s). Give the input bands "
                         "descriptions such as 'B01' ... 'B12', 'B8A' (a VRT of the band files does this), or use a "
                         "13-band L1C stack B01..B12 with B8A.")
    return {n: found[n] for n in needed}, how
