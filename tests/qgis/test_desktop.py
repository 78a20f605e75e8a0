"""The real QGIS desktop (under Xvfb, scratch profile): the packaged zip installed as Install from ZIP does, one
group in the Toolbox, the shipped model run with its outputs loaded, and each loaded layer's legend and colours
as the user sees them. Screenshots of this session land in build/test-output/desktop."""

import os
import sys
from urllib.parse import urlparse

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools" / "desktop"))
import session  # noqa: E402

ALGORITHMS = ["Generate Cloud Mask", "Multi-Date Cloud Fill", "Reclassify Cloud Types",
              "Remove Clouds (mask, reclassify, fill)", "Stepwise Local Radiometric Adjustment"]
# QGIS's model runner probes each intermediate GeoTIFF with OGR before GDAL opens it (3.22 and 3.44); QGIS 3.40
# and later cannot download their default font without network: neither is an error of the plugin
KNOWN = ("[OGR] Cannot open", "[Messages] Open Sans font installation failed")
# Network requests QGIS itself makes in a scratch profile: 3.40 and later download their default font (Open Sans)
# from github.com at start; offline, that fails as the message above or as "[Network] Host github.com not found"
QGIS_OWN_REQUESTS = {"QgsFontDownloadTask"}


def rgb(hex_colour):
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


def distance(a, b):
    """Sum of the absolute RGB differences of two #rrggbb colours."""
    return sum(abs(x - y) for x, y in zip(rgb(a), rgb(b)))


def _luminance(hex_colour):
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb(hex_colour))]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    """WCAG contrast ratio of two #rrggbb colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    why = session.missing()
    if why:
        pytest.skip(f"no desktop QGIS under Xvfb here: {why}")
    work = tmp_path_factory.mktemp("desktop")
    return session.run(work / "seen.json", shots=ROOT / "build" / "test-output" / "desktop", work=work / "session")


def layer(seen, name, file_name):
    found = [entry for entry in seen["layers"] if entry["name"] == name and entry["source"].endswith(file_name)]
    assert len(found) == 1, [(e["name"], e["source"]) for e in seen["layers"]]
    return found[0]


def test_installed_from_the_zip_and_one_group_in_the_toolbox(seen):
    assert seen.get("error") is None, seen.get("error")
    assert seen["steps"] == ["install_zip", "toolbox", "model_dialog", "run_model", "modeler", "map_shot"]
    assert seen["plugin_active"] and seen["plugin_path"] == seen["installed"]  # the extracted copy runs
    assert seen["toolbox"] == {"Cloud Removal": {"Cloud removal": ALGORITHMS}}


def test_model_dialog_has_a_help_button(seen):
    assert seen["model_dialog"]["help_button"], seen["model_dialog"]
    assert seen["model_dialog"]["help_url"].startswith("https://")


def test_dialogs_fit_their_default_width(seen):
    assert {name: px for name, (width, px) in seen["dialog_overflow"].items() if px > 0} == {}
    assert len(seen["dialog_overflow"]) == 5


def qgis_own_deprecation(message):
    """A DeprecationWarning raised in QGIS's own Python code (e.g. codecs.open in qgis/utils.py on Python 3.14)."""
    first = message.splitlines()[0]
    return message.startswith("[Python warning]") and "DeprecationWarning" in first and "/cloud_removal/" not in first


def qgis_only_hosts(seen):
    """Hosts that only QGIS's own requests (QGIS_OWN_REQUESTS) asked for in the session."""
    ours = {urlparse(r["url"]).hostname for r in seen["requests"] if r["by"] not in QGIS_OWN_REQUESTS}
    return {urlparse(r["url"]).hostname for r in seen["requests"] if r["by"] in QGIS_OWN_REQUESTS} - ours - {None}


def test_no_errors_in_the_message_log(seen):
    hosts = qgis_only_hosts(seen)

    def qgis_own_network_error(message):
        return message.startswith("[Network]") and any(host in message for host in hosts)

    problems = [m for m in seen["messages"] if not m.startswith(KNOWN) and not qgis_own_deprecation(m)
                and not qgis_own_network_error(m) and "Plugin installed successfully" not in m]
    assert problems == []


def test_the_plugin_makes_no_network_request(seen):
    """Installing, listing, opening and running the plugin asks nothing of the network (it must work offline)."""
    assert [r for r in seen["requests"] if r["by"] not in QGIS_OWN_REQUESTS] == []


def test_class_rasters_list_exactly_their_classes(seen):
    classes = layer(seen, "Cloud classes", "classes.tif")
    assert classes["renderer"] == "paletted"
    assert classes["labels"][1:] == ["clear", "cloud", "cloud shadow"]  # after the band's own heading
    colours = {label: colour for label, colour, alpha in classes["colours"]}
    assert colours == {"clear": "#3c9b3c", "cloud": "#ff40ff", "cloud shadow": "#8c5a00"}
    assert contrast(colours["cloud"], "#ffffff") > 2.5  # visible on the white canvas and next to nodata holes
    assert distance(colours["cloud"], colours["clear"]) > 200 and distance(colours["cloud"], "#d0d0d0") > 150
    water = "#1a2b4c"  # dark blue of open water in true colour
    r, _, b = rgb(colours["cloud shadow"])
    assert b < r and distance(colours["cloud shadow"], water) > 150
    mask = layer(seen, "Cloud mask", "mask.tif")
    assert mask["renderer"] == "paletted" and mask["labels"][1:] == ["clear", "cloud"]
    assert [c[:2] for c in mask["colours"]] == [["clear", "#c8c8c8"], ["cloud", "#ff40ff"]]
    gcm = layer(seen, "Cloud mask", "gcm.tif")
    assert gcm["labels"][1:] == ["clear", "cloud", "cloud shadow"]


def test_probability_ramp_and_filled_image_like_its_input(seen):
    probability = layer(seen, "Cloud probability (%)", "probability.tif")
    assert probability["renderer"] == "singlebandpseudocolor"
    assert [c[0] for c in probability["colours"]] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    cloudy = layer(seen, "Cloudy image (true colour)", "S2_T37MEM_20200101_sref20m.tif")
    free = layer(seen, "Cloud-free image", "free.tif")
    assert free["renderer"] == cloudy["renderer"] == "multibandcolor"
    assert free["bands"] == cloudy["bands"] == [3, 2, 1]


def test_a_copy_of_the_model_opens_in_the_modeler(seen):
    modeler = seen["modeler"]
    assert os.path.dirname(modeler["copy"]) == modeler["folder"] and modeler["folder"].startswith(
        os.path.dirname(os.path.dirname(seen["installed"])).rsplit("/python", 1)[0])
    assert "model:Remove Clouds (mask, reclassify, fill)" in modeler["listed"]
    assert "Remove Clouds" in modeler["title"]
