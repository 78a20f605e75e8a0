"""The help of each algorithm, in one place: `<algorithm id>.md` in this folder.

Each file is a short Markdown text (what the algorithm does, then a table of its parameters). The same text is
the algorithm's section in the README (between `<!-- help:<id> -->` markers, rewritten by
`tools/readme_help.py` and checked by a test), the dialog's help panel (`help_html`) and the descriptions of the
shipped model's inputs (`parameter_help`). No QGIS import: the model builder and the tests use it too.
"""

import html
import re
from pathlib import Path

HELP_DIR = Path(__file__).resolve().parent


def help_markdown(alg_id):
    """The Markdown help of an algorithm (its id without the provider prefix)."""
    return (HELP_DIR / f"{alg_id}.md").read_text(encoding="utf-8")


def _inline(text):
    """Markdown emphasis and code spans to HTML, after escaping."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])", r"<i>\1</i>", text)


def _plain(text):
    """Markdown to plain text: emphasis and backticks dropped."""
    return re.sub(r"\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`", lambda m: next(g for g in m.groups() if g), text)


def parameter_rows(alg_id):
    """[(names, meaning, default)] of the parameter table, in Markdown; names are the backticked parameter names
    of the first cell."""
    rows = []
    for line in help_markdown(alg_id).splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1], cells[-1]))
    return rows


def parameter_help(alg_id):
    """{parameter name: plain-text description with its default}, e.g. for a Modeler model's inputs."""
    described = {}
    for names, meaning, default in parameter_rows(alg_id):
        text = _plain(meaning)
        text = text[0].upper() + text[1:] if text else text
        if default:
            text = f"{text.rstrip('.')}. Default: {_plain(default)}."
        for name in names:
            described[name] = text
    return described


def description_html(alg_id):
    """The paragraphs of the help (all but the parameter table) as HTML."""
    return "".join(f"<p>{_inline(' '.join(block.split()))}</p>"
                   for block in re.split(r"\n\s*\n", help_markdown(alg_id).strip()) if not block.startswith("|"))


def help_html(alg_id, labels=None):
    """The help as HTML for a Processing dialog: the paragraphs, then one paragraph per parameter row headed by
    the dialog labels (`labels`: {name: label}) and the names a command line uses."""
    labels = labels or {}
    paragraphs = [description_html(alg_id)]
    rows = parameter_rows(alg_id)
    if rows:
        paragraphs.append("<h3>Parameters</h3>")
    for names, meaning, default in rows:
        head = ", ".join(f"{html.escape(labels[n], quote=False)} (<code>{n}</code>)" if n in labels
                         else f"<code>{n}</code>" for n in names)
        tail = f" <i>Default: {_inline(default)}.</i>" if default else ""
        paragraphs.append(f"<p><b>{head}</b>: {_inline(meaning.rstrip('.'))}.{tail}</p>")
    return "".join(paragraphs)
