"""Masked diffusion vs autoregressive LMs at full budget: equal-size, equal-FLOP pairs on the exact-entropy Markov
corpus and on text (Shakespeare + KJV Bible, bytes), then every sampler's quality against its speed on each, and
the H200 projection behind the report's verdict.

Each pair: the AR model trained within ``--minutes`` (shape and steps planned from the budget), the diffusion model
of the same shape for the same steps and batch (:func:`paradigmlab.diffusion.experiments.paired_runs`), in
``--runs/<corpus>/{ar,mdm}`` (reruns resume). Prints the machine, sizes, steps, tokens and estimators.

    .venv/bin/python benchmarks/diffusion_lm.py [--corpora markov,both] [--minutes 3] [--runs runs/diffusion_lm]
        [--no-study] [--estimator time|count]

(``markov:N`` in ``--corpora``: the Markov chain at N tokens, run folder ``markovN-s<seed>``.)

Writes benchmarks/results/diffusion_lm.json and .png (the report reads the JSON).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from paradigmlab.diffusion import experiments as ex
from paradigmlab.diffusion.mdm import ESTIMATORS
from paradigmlab.diffusion.reproduce import pair_markdown, plot_study, projection_markdown, study_markdown
from paradigmlab.measure import machine_info, write_json_atomic

#: minutes of the AR model's budget per corpus (--minutes overrides all)
MINUTES = {"markov": 3.0, "both": 10.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", default="markov,both")
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--runs", default="runs/diffusion_lm", help="run folders (resumable)")
    ap.add_argument("--seeds", default="0,1", help="seeds of the Markov pair (text: the first only)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default="benchmarks/results/diffusion_lm.json")
    ap.add_argument("--no-study", action="store_true", help="the pairs only: no sampler study or projection")
    ap.add_argument("--estimator", choices=sorted(ESTIMATORS), default="time",
                    help="the diffusion model's training draw (the AR model has none)")
    args = ap.parse_args()
    m = machine_info()
    print(f"machine: {m['processor']}, {m['cpu_count']} CPUs")
    pairs, studies, projections = {}, {}, {}
    seeds = [int(s) for s in args.seeds.split(",")]
    for corpus in args.corpora.split(","):
        minutes = args.minutes or MINUTES.get(corpus, 3.0)
        for seed in seeds if ex.markov_size(corpus) is not None else seeds[:1]:
            # the diffusion model's early plateau is seed-dependent: the Markov pair is run on several seeds
            pair = ex.paired_runs(corpus, minutes, Path(args.runs) / f"{corpus.replace(':', '')}-s{seed}", seed=seed,
                                  threads=args.threads, progress=False, estimator=args.estimator)
            pair["runs"] = {k: os.path.relpath(v) for k, v in pair["runs"].items()}
            pairs[f"{corpus}-s{seed}"] = pair
            print(pair_markdown(pair, f"{corpus}, seed {seed}"), flush=True)
        if args.no_study:
            continue
        pair = pairs[f"{corpus}-s{seeds[0]}"]
        study = ex.sampler_study(pair["runs"]["mdm"], pair["runs"]["ar"], corpus, length=64, prompt_length=8,
                                 n_samples=32, tokens_per_step=(1, 2, 4, 8, 16), threads=args.threads)
        studies[corpus] = study
        print(study_markdown(study), flush=True)
        projections[corpus] = ex.projection(study)
        print(projection_markdown(projections[corpus], study), flush=True)
    result = {"pairs": pairs, "studies": studies, "projections": projections, "machine": m}
    write_json_atomic(args.json, result)
    if not studies:
        print(f"written to {args.json}")
        return
    first = next(iter(studies))
    plot_study(studies[first], Path(args.json).with_suffix(".png"))
    print(f"written to {args.json} and {Path(args.json).with_suffix('.png')}")


if __name__ == "__main__":
    main()
