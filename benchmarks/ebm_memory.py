"""Associative memories and the RRAM attractor circuit at full scale (issue 18): the figures RESULTS.md quotes.

Runs :func:`paradigmlab.ebm.experiments.memory_report` with ``quick=False``: Hebbian capacity at N = 100 ... 2,000
(loads 0.04-0.26 in steps of 0.01, 6 pattern sets per point, retrieval = fixed-point overlap >= 0.9) with the
finite-size fit against the replica theory's 0.138; Hebbian / Storkey / pseudo-inverse from 10 %-corrupted cues
at N = 100, 200, 500; dense memories (F = x^n, n = 2, 3, 4, N = 16 ... 64); the modern Hopfield layer (N = 64,
P = 1,000, 25 % flipped, 5 pattern sets); the stochastic network on the p-bit sampler against m = tanh(beta m);
Li et al. Fig. 4a, its parameter region and Fig. 4b (5,000 trials); circuit against Hopfield nets at N = 4 ... 16
exhaustively and 24, 32, 48 by sampling (20 instances each); designed memories by linear programming at N = 8,
12, 16 (20 trials); recall speed of the numba p-bit kernel against a numpy loop (N = 1,000, 256 cues, median of 7).

    .venv/bin/python benchmarks/ebm_memory.py [--json benchmarks/results/ebm_memory.json] [--quick]

Writes the JSON (machine included) and the section's PNGs beside it (``ebm_memory_*.png``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from paradigmlab.ebm import experiments as ex
from paradigmlab.ebm.reproduce import render_memory
from paradigmlab.measure import machine_info, write_json_atomic


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", default="benchmarks/results/ebm_memory.json")
    p.add_argument("--quick", action="store_true", help="the report's laptop scale (about a minute)")
    args = p.parse_args()
    r = ex.memory_report(quick=args.quick, progress=True)
    r["machine"] = machine_info()
    out = Path(args.json)
    with tempfile.TemporaryDirectory() as d:
        section = render_memory(r, Path(d))
        for name in section.figures:
            shutil.copyfile(Path(d) / name, out.parent / f"ebm_memory_{name}")
    # the region's grid mask (a million booleans) is the PNG's content; the JSON keeps its bounding boxes
    region = r["fig4a_region"]
    r["fig4a_region"] = {"ratios": region["ratios"], "bounds": region["bounds"],
                         "v_set_grid": [region["v_set_grid"][0], region["v_set_grid"][-1], len(region["v_set_grid"])],
                         "v_reset_grid": [region["v_reset_grid"][0], region["v_reset_grid"][-1],
                                          len(region["v_reset_grid"])],
                         "mask": "see ebm_memory_rram_fig4a_region.png"}
    write_json_atomic(out, r)
    print(section.markdown)
    print(f"wrote {out} and {len(section.figures)} PNGs beside it ({r['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
