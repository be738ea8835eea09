"""Write the demo programme workbook (``service/programme/demo-region.xlsx``) from the demo generator.

Usage: ``.venv/bin/python tools/make_demo_workbook.py [OUT.xlsx]`` (default: the shipped file).
Run it after changing ``service/demo.py`` or the sheets of ``service/programme/sheets.py``;
``tests/test_programme_demo.py`` fails while the shipped workbook differs from what this writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.programme import demo_workbook  # noqa: E402


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else demo_workbook.PATH
    data = demo_workbook.build()
    out.write_bytes(data)
    print(f"{out}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
