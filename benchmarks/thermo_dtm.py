"""Denoising thermodynamic models on the p-bit engine at a longer budget (issue 19, part 2): RESULTS.md's figures.

Runs :func:`paradigmlab.thermo.experiments.dtm_compare`: a T = 4 DTM with the adaptive correlation penalty, the same
without it, and a single-step EBM, at equal p-bit update budget (``--dtm-updates`` updates of the DTM, T times as
many for the EBM), on binarised 14x14 Fashion-MNIST (the first ``--train-limit`` training images), batch 64; 2,000
samples each from uniform noise, scored by the Frechet distance in the features of an MLP trained here against 2,000
test images.

    .venv/bin/python benchmarks/thermo_dtm.py [--dtm-updates 400] [--json benchmarks/results/thermo_dtm.json]

Writes the JSON (machine included) and a PNG grid of samples beside it (``thermo_dtm_samples.png``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.measure import write_json_atomic
from paradigmlab.thermo import experiments as ex
from paradigmlab.thermo.reproduce import dtm_markdown, plot_samples


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", default="benchmarks/results/thermo_dtm.json")
    p.add_argument("--dtm-updates", type=int, default=400)
    p.add_argument("--train-limit", type=int, default=20000)
    p.add_argument("--samples", type=int, default=2000)
    args = p.parse_args()
    d = ex.dtm_compare(dtm_updates=args.dtm_updates, num_samples=args.samples, train_limit=args.train_limit,
                       progress=True)
    out = Path(args.json)
    grid = plot_samples(d, out.parent / "thermo_dtm_samples.png")
    write_json_atomic(out, d)
    print(dtm_markdown(d, grid.name))
    print(f"wrote {out} and {grid.name} ({d['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
