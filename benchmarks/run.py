"""`make bench`: run every benchmarks/bench_*.py and write benchmarks/RESULTS.md.

    python benchmarks/run.py              # all benchmarks
    python benchmarks/run.py conv pool    # only bench_conv.py and bench_pool.py

Each bench_*.py is run in its own process (so one benchmark's JIT compilation, caches and
thread pools do not colour another's) and prints one Markdown section on stdout. RESULTS.md
keeps one section per benchmark file: a run replaces the sections of the files it ran and
keeps the others.

The machine's OpenBLAS overrides (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE, which force the slower
AVX2 kernel here) are removed from the benchmarks' environment, for numpy and PyTorch alike.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MARK = "<!-- section: {} -->"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for mod in ("numpy", "numba", "torch"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            versions.append(f"{mod} not installed")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; " + ", ".join(versions))


def bench_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.setdefault("PYTHONPATH", str(HERE.parent))
    return env


def run_one(path: Path) -> str:
    print(f"running {path.name} ...", flush=True)
    proc = subprocess.run([sys.executable, str(path)], env=bench_env(), capture_output=True,
                          text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        return f"**{path.name} failed** (exit code {proc.returncode}); see its stderr.\n"
    return proc.stdout


def sections(text: str) -> dict:
    """{file name: section text} of an existing RESULTS.md."""
    found = {}
    parts = re.split(r"(<!-- section: \S+ -->\n)", text)
    for marker, body in zip(parts[1::2], parts[2::2]):
        name = marker.split()[2]
        found[name] = body
    return found


def main(argv) -> int:
    files = sorted(HERE.glob("bench_*.py"))
    if argv:
        files = [f for f in files if any(a in f.stem for a in argv)]
        if not files:
            print(f"no benchmark matches {argv}", file=sys.stderr)
            return 2
    kept = sections(RESULTS.read_text()) if RESULTS.exists() else {}
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    unset = " ".join(f"-u {v}" for v in UNSET)
    command = " ".join(["python benchmarks/run.py"] + list(argv))
    for f in files:
        body = run_one(f)
        kept[f.name] = (f"## {f.name}\n\nRun {stamp} with `{command}` (`make bench` runs them all; "
                        f"each file runs as `env {unset} python benchmarks/{f.name}`) on "
                        f"{machine()}.\n\n{body.strip()}\n\n")
    head = ("# Benchmark results\n\nWritten by `benchmarks/run.py` (`make bench`); one section per "
            "benchmark file, each with the command, machine and date of its last run. The "
            "machine is shared: figures are medians, and ratios against PyTorch are measured "
            "in the same process, interleaved, so both see the same load.\n\n")
    out = head + "".join(MARK.format(name) + "\n" + kept[name] for name in sorted(kept))
    RESULTS.write_text(out)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
