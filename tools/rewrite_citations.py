"""Rewrite citations of the old reference notes to the project's own ``docs/`` files.

Usage::

    python tools/rewrite_citations.py [--map docs/CITATIONS.tsv] [--check] PATH...

Each ``PATH`` is a folder (every file with a suffix of :data:`SUFFIXES` below it is
rewritten, skipping :data:`SKIP_DIRS`) or a file. The map (default ``docs/CITATIONS.tsv``
next to this script's folder) has one pair a line, ``old text<TAB>new text``, no header.

Rules:

* Literal text, longest old text first, in one pass over each file: a replaced text is not
  looked at again in the same run.
* An old text that ends in a digit does not match when a digit or ``.digit`` follows
  (``§2`` is not the start of ``§2.6``).
* Idempotent: an old text is left alone where it lies inside an occurrence of any new text
  of the map (``khatlon.md`` inside ``docs/khatlon.md``), so a second run changes nothing.
* Afterwards every file is searched for citations the map did not cover (``shared/reference/``,
  or a reference note's file name not preceded by a path); they are listed, and the exit
  status is 1 when there is one. Fix those by hand (e.g. a citation split over two lines).

``--check`` writes nothing: it lists the files that would change and the uncovered
citations, and exits 1 when there is either. Exit status 2: bad arguments or map.
Standard library only.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

SUFFIXES = (".py", ".toml", ".md", ".js", ".html", ".txt", ".cfg", ".ini")
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", ".pytest_cache", "docs"}
DEFAULT_MAP = Path(__file__).resolve().parent.parent / "docs" / "CITATIONS.tsv"
#: citations of the old notes outside the repository that the map should have covered
OLD_CITATION = re.compile(
    r"shared/reference/"
    r"|(?<![\w/.-])(?:africastalking|message-budgets|khatlon|agronomy-calendars|case-study-figures)\.md")


def load_map(path: Path) -> list[tuple[str, str]]:
    """The (old, new) pairs of a map file. Raises ``ValueError`` for a line that is not
    ``old<TAB>new`` with both sides non-empty, or for an old text given twice."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{path}:{number}: expected 'old<TAB>new'")
        if parts[0] in seen:
            raise ValueError(f"{path}:{number}: {parts[0]!r} is mapped twice")
        seen.add(parts[0])
        pairs.append((parts[0], parts[1]))
    return pairs


class Rewriter:
    """Applies a list of (old, new) pairs to texts (see the module docstring)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.new_of = dict(pairs)
        self.news = sorted({new for _, new in pairs}, key=len, reverse=True)
        alternatives = []
        for old in sorted(self.new_of, key=len, reverse=True):
            alternative = re.escape(old)
            if old[-1].isdigit():
                alternative += r"(?![0-9]|\.[0-9])"
            alternatives.append(alternative)
        self.pattern = re.compile("|".join(alternatives)) if alternatives else None

    def _protected(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for new in self.news:
            start = text.find(new)
            while start != -1:
                spans.append((start, start + len(new)))
                start = text.find(new, start + 1)
        return spans

    def rewrite(self, text: str) -> tuple[str, int]:
        """``text`` with every old citation replaced, and the number of replacements."""
        if self.pattern is None:
            return text, 0
        spans = self._protected(text)
        count = 0

        def replace(match: re.Match) -> str:
            nonlocal count
            start, end = match.span()
            if any(s <= start and end <= e for s, e in spans):
                return match.group(0)
            count += 1
            return self.new_of[match.group(0)]

        return self.pattern.sub(replace, text), count


def uncovered(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line still citing the old reference notes."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if OLD_CITATION.search(line)]


def files_under(paths: list[Path]) -> list[Path]:
    """The files to look at: each file given, and the files with a suffix of :data:`SUFFIXES`
    under each folder given (not inside :data:`SKIP_DIRS`), sorted, each once."""
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            for file in path.rglob("*"):
                if (file.is_file() and file.suffix in SUFFIXES
                        and not SKIP_DIRS.intersection(file.relative_to(path).parts[:-1])):
                    found.add(file)
        else:
            raise FileNotFoundError(path)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="folders or files to rewrite")
    parser.add_argument("--map", type=Path, default=DEFAULT_MAP, help="the TSV map (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="report only, write nothing")
    args = parser.parse_args(argv)
    try:
        rewriter = Rewriter(load_map(args.map))
        files = files_under(args.paths)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    changed = total = 0
    left: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new, count = rewriter.rewrite(text)
        if count:
            changed += 1
            total += count
            print(f"{'would rewrite' if args.check else 'rewrote'} {count} in {file}")
            if not args.check:
                file.write_text(new, encoding="utf-8")
        left += [f"{file}:{n}: {line}" for n, line in uncovered(new)]
    print(f"{total} citations in {changed} files {'to rewrite' if args.check else 'rewritten'}; "
          f"{len(files)} files looked at")
    if left:
        print(f"{len(left)} lines still cite the old reference notes (not in the map):")
        print("\n".join(f"  {line}" for line in left))
    return 1 if left or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
