"""Command line: ``python -m autograd_cnn COMMAND`` (also installed as ``autograd-cnn``).

    graph   draw the lecture notes' computational graph f = (x + y) z before and after backward
            and render it (SVG and PNG) into --out
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _graph(args) -> int:
    from . import Value
    from .viz import DotNotFoundError, draw_graph

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    written = []
    try:
        for stage in ("forward", "backward"):
            if stage == "backward":
                f.backward()
            g = draw_graph(f)
            for fmt in ("svg", "png"):
                written.append(g.render(out / f"graph_{stage}", format=fmt, cleanup=True))
    except DotNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"f = (x + y) z = {f.data:g};  df/dx = {x.grad:g}, df/dy = {y.grad:g}, "
          f"df/dz = {z.grad:g}")
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograd_cnn",
                                     description="autograd_cnn command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("graph", help="render the lecture's computational graph")
    p.add_argument("--out", default="out", help="folder for the rendered files (default: out)")
    p.set_defaults(func=_graph)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
