"""`make lint`: pyflakes over the package, the kernels, the tests and the benchmarks.

Two allowances, both for code that is right as written: in an ``__init__.py`` an import is a
re-export (pyflakes would call it unused, and a star import there is the point), and a line
marked ``# noqa`` (an import made only to see whether a package is installed) is skipped.
Prints each finding as ``path:line:col: message`` and exits 1 if there is any."""

import sys
from pathlib import Path

from pyflakes import api, messages, reporter

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("autograd_cnn", "kernels", "tests", "benchmarks")
REEXPORTS = (messages.UnusedImport, messages.ImportStarUsed, messages.ImportStarUsage)


class _Collect(reporter.Reporter):
    def __init__(self):
        super().__init__(sys.stdout, sys.stderr)
        self.found = []

    def flake(self, message):
        path = Path(message.filename)
        if path.name == "__init__.py" and isinstance(message, REEXPORTS):
            return
        line = path.read_text().splitlines()[message.lineno - 1]
        if "# noqa" not in line:
            self.found.append(str(message))

    def syntaxError(self, filename, msg, lineno, offset, text):
        self.found.append(f"{filename}:{lineno}: {msg}")

    def unexpectedError(self, filename, msg):
        self.found.append(f"{filename}: {msg}")


def main() -> int:
    collect = _Collect()
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            api.checkPath(str(path), collect)
    for text in collect.found:
        print(text.replace(f"{ROOT}/", ""))
    return 1 if collect.found else 0


if __name__ == "__main__":
    sys.exit(main())
