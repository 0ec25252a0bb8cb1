"""Throughput of the format emulation next to the reference libraries it is checked against.

Run: `.venv/bin/python benchmarks/costmodel_formats.py [--n 1048576 --repeats 5]`.
ml_dtypes casts are C++ (element formats only); gfloat's MX quantiser is
scalar Python (timed on a small slice). Writes
benchmarks/results/costmodel_formats.json and .png; prints machine, sizes,
repeats and medians. Same as `paradigmlab costmodel bench` (its --help lists the options).
"""

from __future__ import annotations

import sys
from pathlib import Path

from paradigmlab.cli import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["costmodel", "bench", "--json", str(RESULTS / "costmodel_formats.json"), *sys.argv[1:]]))
