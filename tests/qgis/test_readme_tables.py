"""The README's parameter tables list exactly each algorithm's parameters, with their defaults."""

import re

import pytest

from conftest import ROOT

ALGORITHMS = ["generatecloudmask", "reclassifycloudtypes", "stepwiselocalradiometricadjustment",
              "multidatecloudfill", "removeclouds"]


def readme_table(alg_id):
    """{parameter name: default cell} from the first table of the README section headed `cloudremoval:<id>`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"(`cloudremoval:{alg_id}`)")
    section = text[start:text.find("\n### ", start + 1)]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for name in re.findall(r"`([^`]+)`", cells[0]):
                rows[name] = cells[-1]
    return rows


def _expected(value):
    """Words a default may be written as in the README."""
    if isinstance(value, bool):
        return ("on", "true", "written") if value else ("off", "false", "not written")
    if isinstance(value, (int, float)):
        return (f"{value:g}",)
    return (str(value),)


@pytest.mark.parametrize("alg_id", ALGORITHMS)
def test_readme_lists_every_parameter_and_its_default(qgis_app, alg_id):
    from qgis.core import QgsApplication, QgsProcessingParameterEnum

    alg = QgsApplication.processingRegistry().algorithmById(f"cloudremoval:{alg_id}")
    params = {p.name(): p for p in alg.parameterDefinitions()}
    table = readme_table(alg_id)
    assert set(table) == set(params), f"README only: {set(table) - set(params)}; code only: {set(params) - set(table)}"
    for name, p in params.items():
        default = p.defaultValue()
        if default in (None, "") or p.isDestination():
            continue
        if p.type() == QgsProcessingParameterEnum.typeName():
            options = p.toVariantMap()["options"]  # (QGIS 3.44 may hand a model's enum out as its base class)
            try:  # an index (an int, or a str / float / list holding one, depending on the QGIS version)
                default = options[int(float(default[0] if isinstance(default, (list, tuple)) else default))]
            except (TypeError, ValueError):
                default = str(default)
            words = (default, default.lower(), "clouds and shadows" if "shadow" in default.lower() else default)
        else:
            words = _expected(default)
        cell = table[name].lower()
        assert any(w.lower() in cell for w in words), f"{alg_id} {name}: default {default!r} not in '{table[name]}'"


def test_readme_sections_are_the_help_files():
    """The README's algorithm sections hold algorithms/help/<id>.md verbatim (`make readme` rewrites them)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(ROOT / "tools" / "readme_help.py"), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("alg_id", ALGORITHMS[:-1])
def test_dialog_help_is_the_help_file(qgis_app, alg_id):
    """The dialog's help panel names every parameter by its label and its command-line name, from the help file."""
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(f"cloudremoval:{alg_id}")
    text = alg.shortHelpString()
    assert text.startswith("<p>") and "<h3>Parameters</h3>" in text
    for p in alg.parameterDefinitions():
        assert f"<code>{p.name()}</code>" in text, p.name()
        assert p.description().replace("&", "&amp;").replace("<", "&lt;") in text, p.description()


def test_model_help_is_the_help_file(qgis_app):
    """The shipped model's help content (description and every input's) comes from algorithms/help/removeclouds.md."""
    from qgis.core import QgsApplication

    from cloud_removal.algorithms.help import description_html, parameter_help

    alg = QgsApplication.processingRegistry().algorithmById("cloudremoval:removeclouds")
    content = alg.helpContent()
    assert content["ALG_DESC"] == description_html("removeclouds")
    for name, text in parameter_help("removeclouds").items():
        assert content[name] == text, name
