"""Write each algorithm's help (`algorithms/help/<id>.md`) into its README section, between the markers
`<!-- help:<id> -->` and `<!-- /help:<id> -->`, so the README, the dialogs and the Modeler say the same.

Usage: /usr/bin/python3 tools/readme_help.py [--check]   (`make readme`; --check exits 1 when the README differs)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "algorithms"))

from help import HELP_DIR, help_markdown  # noqa: E402  (the package, without importing the QGIS shells)

BLOCK = re.compile(r"(<!-- help:(?P<id>[a-z0-9]+) -->\n).*?(\n<!-- /help:(?P=id) -->)", re.S)


def with_help(readme):
    """The README text with every help block replaced by the current help file."""
    return BLOCK.sub(lambda m: m.group(1) + help_markdown(m.group("id")).rstrip("\n") + m.group(3), readme)


def main(argv):
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    missing = [p.stem for p in sorted(HELP_DIR.glob("*.md")) if f"<!-- help:{p.stem} -->" not in text]
    updated = with_help(text)
    if "--check" in argv:
        if missing or updated != text:
            print(f"README.md is out of date with algorithms/help/ (missing blocks: {missing}); run make readme")
            return 1
        return 0
    if missing:
        print(f"README.md has no block for {missing}: add `<!-- help:<id> -->` / `<!-- /help:<id> -->` markers")
        return 1
    if updated != text:
        path.write_text(updated, encoding="utf-8")
        print("README.md: help blocks rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
