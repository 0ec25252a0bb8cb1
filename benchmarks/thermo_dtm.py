"""Denoising thermodynamic models on the p-bit engine at a longer budget (issue 19, part 2): RESULTS.md's figures.

Runs :func:`paradigmlab.thermo.experiments.dtm_compare`: a T = 4 DTM with the adaptive correlation penalty, the same
without it, and a single-step EBM, at equal p-bit update budget (``--dtm-updates`` updates of the DTM, T times as
many for the EBM), on binarised 14x14 Fashion-MNIST with its labels (the first ``--train-limit`` training images),
batch 64; at ``--evals`` points of the training 2,000 samples each from uniform noise, free and class-conditional,
scored by the Frechet distance in the features of an MLP trained here against 2,000 test images and by that MLP's
accuracy on the conditional samples; mixing (tail autocorrelation) logged every 50 updates.

    .venv/bin/python benchmarks/thermo_dtm.py [--dtm-updates 400] [--evals 6] [--json benchmarks/results/thermo_dtm.json]

Writes the JSON (machine included) and PNGs beside it: samples (``thermo_dtm_samples.png``) and the training curves
(``thermo_dtm_training.png``, the paper's Fig. 5b at this scale).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from paradigmlab.measure import write_json_atomic
from paradigmlab.thermo import experiments as ex
from paradigmlab.thermo.reproduce import dtm_markdown, energy_markdown, plot_energy, plot_samples, plot_training


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", default="benchmarks/results/thermo_dtm.json")
    p.add_argument("--dtm-updates", type=int, default=400)
    p.add_argument("--train-limit", type=int, default=20000)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--evals", type=int, default=6, help="evaluations along the training (the curve)")
    p.add_argument("--config", default="{}", help="DTMConfig fields for every variant, as JSON")
    p.add_argument("--ddpm-updates", type=int, default=20000)
    args = p.parse_args()
    data = ex.dtm_data(args.train_limit)
    d = ex.dtm_compare(dtm_updates=args.dtm_updates, num_samples=args.samples, train_limit=args.train_limit,
                       evals=args.evals, progress=True, data=data, **json.loads(args.config))
    d["ddpm"] = ex.ddpm_baseline(data["x"], data["y"], data["clf"], data["ft"], updates=args.ddpm_updates,
                                 num_samples=args.samples, progress=True)
    d["energy"] = ex.energy_verdict(d, d["ddpm"])
    out = Path(args.json)
    grid = plot_samples(d, out.parent / "thermo_dtm_samples.png")
    curve = plot_training(d, out.parent / "thermo_dtm_training.png")
    energy = plot_energy(d, out.parent / "thermo_dtm_energy.png")
    write_json_atomic(out, d, indent=None)  # long sample and mixing arrays: one line keeps the file small
    print(dtm_markdown(d, grid.name, curve.name) + energy_markdown(d, energy.name))
    print(f"wrote {out} and {grid.name} ({d['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
