"""Run the benchmarks and write benchmarks/RESULTS.md.

    python benchmarks/run.py                 # every benchmarks/bench_*.py      (make bench)
    python benchmarks/run.py bench_pool      # only these; other sections of RESULTS.md are kept

Each bench_*.py has a ``main()`` that returns (or prints) one markdown section; this script
writes it under a marker so that re-running one file replaces only its own section. Each section
starts with its own stamp: the command that produced it, the date, the machine and the library
versions (sections re-run at different times keep their own); the file's header is general.

The machine's OpenBLAS settings (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) select its slower AVX2
kernels; they are read when OpenBLAS loads, so this script re-executes itself without them
before numpy is imported, and says so in the results.
"""

from __future__ import annotations

import os
import sys

_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(v in os.environ for v in _BLAS_VARS):
    env = {k: v for k, v in os.environ.items() if k not in _BLAS_VARS}
    env["AUTOGRAD_CNN_BENCH_UNSET_BLAS"] = ",".join(v for v in _BLAS_VARS if v in os.environ)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import contextlib  # noqa: E402
import datetime  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    import numba
    import numpy
    out = [f"Python {platform.python_version()}", f"numpy {numpy.__version__}",
           f"numba {numba.__version__} ({numba.get_num_threads()} threads)"]
    try:
        import torch
        out.append(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)")
    except ImportError:
        out.append("PyTorch not installed (no comparison columns)")
    return ", ".join(out)


HEADER = ("# Benchmark results\n\n"
          "Each section below starts with the command that produced it, its date, the machine and "
          "the library versions: sections are re-run one at a time (`python benchmarks/run.py "
          "bench_models`), `make bench` re-runs them all. The machine is shared: figures are "
          "medians, and each ratio against PyTorch comes from the same run with the calls "
          "interleaved.\n")


def stamp(command: str) -> str:
    """The line that opens a section: command, date and time, machine, versions, BLAS settings."""
    unset = os.environ.get("AUTOGRAD_CNN_BENCH_UNSET_BLAS")
    blas = (f"run with {unset} unset (numpy's OpenBLAS on its AVX-512 kernels, as PyTorch)"
            if unset else "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE were not set")
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (f"_Produced by `{command}` on {when}: {_cpu()}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.machine()}; {_versions()}; {blas}._\n\n")


def run_one(path: Path) -> str:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))
    try:
        spec.loader.exec_module(module)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            text = module.main()
    finally:
        sys.path.remove(str(HERE))
    # main() returns its section, or prints it
    return (text if isinstance(text, str) else buf.getvalue()).strip() + "\n"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^<!-- (bench_\w+\.py) -->\n", text, flags=re.M)
    return {parts[i]: parts[i + 1].strip() + "\n" for i in range(1, len(parts) - 1, 2)}


def main(argv: list[str]) -> None:
    wanted = {a if a.endswith(".py") else f"{a}.py" for a in argv}
    files = sorted(p for p in HERE.glob("bench_*.py") if not wanted or p.name in wanted)
    missing = wanted - {p.name for p in files}
    if missing:
        raise SystemExit(f"run.py: no such benchmark file(s): {sorted(missing)}")
    sections = _sections(RESULTS.read_text()) if wanted and RESULTS.exists() else {}
    command = "make bench" if not argv else "python benchmarks/run.py " + " ".join(argv)
    for path in files:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        sections[path.name] = stamp(command) + run_one(path)
        print(sections[path.name])
    body = "\n".join(f"<!-- {name} -->\n{sections[name]}" for name in sorted(sections))
    RESULTS.write_text(HEADER + "\n" + body)
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
