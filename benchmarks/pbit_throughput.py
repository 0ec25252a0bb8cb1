"""p-bit throughput side by side: paradigmlab (numba, torch) vs dwave-samplers, OpenJij, THRML.

Run: `make bench`, or `.venv/bin/python benchmarks/pbit_throughput.py [--chains 64 --sweeps 200]`.
Writes benchmarks/results/pbit_throughput.json and .png; prints machine, sizes,
repeats and medians. Same as `paradigmlab pbit bench`.
"""

from __future__ import annotations

import sys

from paradigmlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["pbit", "bench", "--json", "benchmarks/results/pbit_throughput.json", *sys.argv[1:]]))
