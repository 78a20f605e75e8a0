"""The help files (algorithms/help/*.md) rendered for dialogs and the Modeler."""

from cloud_removal.algorithms import help as helptexts


def test_inline_markdown_is_escaped_then_marked_up():
    assert helptexts._inline("**a** `b<c>` *c* x < y & z") == (
        "<b>a</b> <code>b&lt;c&gt;</code> <i>c</i> x &lt; y &amp; z")
    assert helptexts._plain("**a** `b` *c*") == "a b c"


def test_parameter_help_shares_a_row_and_adds_the_default():
    described = helptexts.parameter_help("stepwiselocalradiometricadjustment")
    assert described["MASK"] == described["MASK_BAND"]
    assert described["WINDOW_SIZE"].startswith("Side of the statistics window")
    assert described["WINDOW_SIZE"].endswith("Default: 80.")
    assert "Default" not in described["OUTPUT"]


def test_help_html_heads_rows_with_labels_and_names():
    text = helptexts.help_html("reclassifycloudtypes", {"REMAP": "Remap"})
    assert "<b>Remap (<code>REMAP</code>)</b>: ArcGIS remap string" in text
    assert "<b><code>GROW</code></b>: grow the 1 cells" in text
    assert "<i>Default: <code>1 1;2 1;3 1</code>.</i>" in text
    assert text.index("<h3>Parameters</h3>") > text.index("Maps chosen classes")


def test_every_help_file_has_a_parameter_table():
    for path in sorted(helptexts.HELP_DIR.glob("*.md")):
        assert helptexts.parameter_rows(path.stem), path.name
