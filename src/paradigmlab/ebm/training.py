"""Persistent contrastive learning of a :class:`SparseDBM` with p-bit sampling in both phases.

One update: the positive phase runs ``batch_size`` chains, each with one
training image and its label clamped, for ``pos_sweeps`` sweeps; the negative
phase runs ``num_chains`` persistent free chains for ``neg_sweeps`` sweeps;
the optional conditional phase (``discriminative > 0``) clamps the image only.
Then

    g = generative * (<mm>_pos - <mm>_neg) + discriminative * (<mm>_pos - <mm>_cond)
    v <- momentum * v + lr_t * (g - weight_decay * J_ij);  J += v

and likewise for the biases. The first term is the gradient of log p(x, y),
the second of log p(y | x), the quantity classification reads out; with
``generative = 0`` the free phase is skipped. In the clamped phases the
hidden p-bits start where the previous batch left them. With
``common_random_numbers`` the conditional phase starts from the data phase's
starting states and draws the same random numbers (the clamped labels still
take their draws, ``Kernel.set_clamp(draw_nodes=...)``): the two phases then
differ only where the label's influence reaches, and the far-away part of
``<mm>_pos - <mm>_cond``, pure sampling noise otherwise, cancels. (One persistent
chain per training image instead learned worse.) Every kernel is seeded from ``(seed, update,
phase)`` and every epoch's image order from ``(seed, epoch)``, so a run is a
function of its seed (softmax label draws included): checkpoints (written atomically every
``checkpoint_every`` updates) hold only parameters, velocities, chain states
and counters, and a resumed run is bit-identical to an uninterrupted one.

``label_lr_scale`` multiplies the gradient of every weight and bias on a label
p-bit. With a softmax label block a class's log-odds sum the fields of all its
copies, so a step that moves each copy's field moves the class by ``copies``
times as much; a scale near ``1 / copies`` keeps that step where one copy's
would be (it learned faster than scale 1 with a lower learning rate).
``label_weight_decay`` replaces ``weight_decay`` on those weights: the scale
shrinks their gradient but not their decay, so where the two balance they end
``1 / label_lr_scale`` times smaller than the same pull gives elsewhere;
``label_weight_decay = label_lr_scale * weight_decay`` scales their whole
step instead, which made training unstable, so the recipe keeps it unscaled
(``None``).

The phases of one update are independent (own chains, own seeds), so with
``phase_threads`` 2 the image-clamped phases run in one thread and the free
phase in another, each kernel sweeping with one numba thread (the kernels
release the GIL); the run is bit-identical for any thread count. On two
cores that beats both one thread and two numba threads inside the kernels
(too few chains per thread to pay for the thread pool;
benchmarks/ebm_update_speed.py). The measurements: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numba
import numpy as np

from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.measure import remove_stale_temporaries, save_json_in_npz
from paradigmlab.pbit.spins import check_spins
from paradigmlab.validate import integer, number, read_npz, real_array, strict_json
from paradigmlab.pbit.schedules import SamplingSchedule

#: Config fields that may change between a run and its resumption.
_RESUMABLE = {"epochs", "checkpoint", "checkpoint_every", "eval_every", "eval_samples", "time_limit_s",
              "progress", "phase_threads"}


@dataclass
class TrainConfig:
    """Hyper-parameters of persistent contrastive learning (see the module docstring)."""

    epochs: float = 10.0
    batch_size: int = 100
    num_chains: int = 100
    pos_sweeps: int = 5
    neg_sweeps: int = 5
    lr: float = 0.01
    lr_final: float | None = None  # linear decay from lr to lr_final over the run
    momentum: float = 0.6
    weight_decay: float = 0.0
    label_weight_decay: float | None = None  # weight decay of the label p-bits' weights (None: weight_decay)
    label_lr_scale: float = 1.0  # gradient factor of the label p-bits' weights and biases (see below)
    data_biases: bool = True  # start pixel and label biases at atanh(mean value), the independent-unit fit
    discriminative: float = 0.0  # weight of the conditional term d log p(y|x) (0: purely generative)
    generative: float = 1.0  # weight of the joint term d log p(x, y) (0: skip the free phase)
    common_random_numbers: bool = False  # conditional phase starts from the data phase's states and draws
    seed: int = 0
    checkpoint: str | None = None
    checkpoint_every: int = 100
    eval_every: int = 0  # updates between accuracy estimates (0: only at the end)
    eval_samples: SamplingSchedule = SamplingSchedule(50, 20, 5)  # read-out of the estimates (or a dict of its fields)
    time_limit_s: float | None = None  # stop (and checkpoint) after this much training time
    progress: bool = True
    phase_threads: int | None = None  # threads running the phases side by side (None: numba's thread count)

    def __post_init__(self):
        if isinstance(self.eval_samples, dict):
            self.eval_samples = SamplingSchedule(**self.eval_samples)
        for name in ("batch_size", "num_chains", "pos_sweeps", "neg_sweeps", "checkpoint_every"):
            integer(getattr(self, name), name, min=1)
        integer(self.eval_every, "eval_every", min=0)
        integer(self.seed, "seed", min=0)
        number(self.epochs, "epochs", positive=True)
        number(self.lr, "lr", positive=True)
        if self.lr_final is not None:
            number(self.lr_final, "lr_final", min=0.0)
        number(self.momentum, "momentum", min=0.0)
        if not self.momentum < 1:
            raise ValueError(f"momentum must be < 1, got {self.momentum}")
        for name in ("weight_decay", "discriminative", "generative"):
            number(getattr(self, name), name, min=0.0)
        if self.phase_threads is not None:
            integer(self.phase_threads, "phase_threads", min=1)
        if self.label_weight_decay is not None:
            number(self.label_weight_decay, "label_weight_decay", min=0.0)
        number(self.label_lr_scale, "label_lr_scale", positive=True)
        if self.time_limit_s is not None:
            number(self.time_limit_s, "time_limit_s", positive=True)
        if self.generative + self.discriminative <= 0:
            raise ValueError("generative + discriminative must be > 0 (otherwise nothing is learned)")

    @property
    def replays_data_phase(self) -> bool:
        """Whether the conditional phase runs on the data phase's start and random numbers."""
        return bool(self.discriminative and self.common_random_numbers)


class Trainer:
    """Runs :class:`TrainConfig` on a model, keeps the learning curve in ``history``."""

    def __init__(self, model: SparseDBM, config: TrainConfig):
        self.model, self.config = model, config
        self.update = 0
        self.train_s = 0.0  # wall time of the learning updates (evaluation excluded)
        self.sample_s = 0.0  # of which inside p-bit kernels
        self.train_cpu_s = 0.0  # CPU seconds of this process (all threads) during the updates
        self.pbit_updates = 0
        self.history: list[dict] = []
        c = config
        self._threads = min(2, numba.get_num_threads() if c.phase_threads is None else int(c.phase_threads))
        self._pool: ThreadPoolExecutor | None = None
        self._label_edges = np.isin(model.coupling.edges, model.labels.ravel()).any(1)
        self.vel_w = np.zeros_like(model.weights)
        self.vel_h = np.zeros_like(model.h)
        self._chains(model.random_states(c.batch_size, [c.seed, 10**9, 0]),
                     model.random_states(c.num_chains, [c.seed, 10**9, 1]),
                     model.random_states(c.batch_size, [c.seed, 10**9, 2]) if c.discriminative else None)

    def _chains(self, pos: np.ndarray, neg: np.ndarray, cond: np.ndarray | None) -> None:
        """Persistent chains of the phases: data (pixels + label clamped), free, conditional (pixels clamped)."""
        m = self.model
        self.pos = m.phase_chains(pos, images=True, labels=True, label_draws=self.config.replays_data_phase)
        self.neg = m.phase_chains(neg)
        self.cond = None if cond is None else m.phase_chains(cond, images=True)

    # ------------------------------------------------------------ one update
    def step(self, images: np.ndarray, y: np.ndarray) -> None:
        """One contrastive update on the batch the seed assigns to update ``self.update``."""
        c, m, t = self.config, self.model, self.update
        per_epoch = len(y) // c.batch_size
        order = np.random.default_rng([c.seed, t // per_epoch]).permutation(len(y))
        batch = order[(t % per_epoch) * c.batch_size:(t % per_epoch + 1) * c.batch_size]
        t0 = time.perf_counter()
        start = self.pos.states if c.replays_data_phase else None
        jobs = [self._data_phases(images[batch], y[batch], t, start)]
        if c.generative:
            jobs.append(lambda: m.run_phase(self.neg, c.neg_sweeps, [c.seed, t, 1]))
        n = sum(self._run_phases(jobs))
        self.sample_s += time.perf_counter() - t0
        self.pbit_updates += n
        wp, hp = m.moments(self.pos.states, m.clamped_nodes(True, True))
        gw, gh = np.zeros_like(wp), np.zeros_like(hp)
        if c.generative:
            wn, hn = m.moments(self.neg.states)
            gw, gh = gw + c.generative * (wp - wn), gh + c.generative * (hp - hn)
        if c.discriminative:
            wc, hc = m.moments(self.cond.states, m.clamped_nodes(True, False))
            gw, gh = gw + c.discriminative * (wp - wc), gh + c.discriminative * (hp - hc)
        if c.label_lr_scale != 1.0:
            gw[self._label_edges] *= c.label_lr_scale
            gh[m.labels.ravel()] *= c.label_lr_scale
        lr = c.lr if c.lr_final is None else c.lr + (c.lr_final - c.lr) * t / max(1, self.total_updates(len(y)))
        decay = c.weight_decay * m.weights
        if c.label_weight_decay is not None:
            decay[self._label_edges] = c.label_weight_decay * m.weights[self._label_edges]
        self.vel_w = c.momentum * self.vel_w + lr * (gw - decay)
        self.vel_h = c.momentum * self.vel_h + lr * gh
        m.weights = m.weights + self.vel_w
        m.h = m.h + self.vel_h
        self.update += 1

    def _data_phases(self, x: np.ndarray, y: np.ndarray, t: int, start: np.ndarray | None) -> Callable[[], int]:
        """The image-clamped phases of update ``t`` as one job: data phase (label clamped), then the
        conditional one (label free) -> gradient of log p(y | x). With common random numbers the latter
        replays the data phase from the same ``start``, so the two differ only downstream of the label
        p-bits and their difference (the gradient) loses most of its sampling noise."""
        c, m = self.config, self.model

        def run() -> int:
            n = m.run_phase(self.pos, c.pos_sweeps, [c.seed, t, 0], clamp_images=x, clamp_labels=y)
            if c.discriminative:
                if start is not None:
                    self.cond.states = start
                n += m.run_phase(self.cond, c.pos_sweeps, [c.seed, t, 0 if start is not None else 2], clamp_images=x)
            return n
        return run

    def _run_phases(self, jobs: list[Callable[[], int]]) -> list[int]:
        """Run independent phase jobs, concurrently in ``phase_threads`` threads (each kernel then sweeps
        with one numba thread; the kernels release the GIL). Every phase has its own chains and seed, so
        the result is the same for any thread count."""
        threads = self._threads if len(jobs) > 1 else 1
        if threads == 1:
            return [job() for job in jobs]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="dbm-phase")
        saved = numba.get_num_threads()
        numba.set_num_threads(1)  # per thread in numba: the workers set their own below
        try:
            futures = [self._pool.submit(_one_numba_thread, job) for job in jobs[1:]]
            return [jobs[0]()] + [f.result() for f in futures]
        finally:
            numba.set_num_threads(saved)

    def total_updates(self, num_images: int) -> int:
        """Updates in the whole run: epochs x full batches per epoch."""
        return int(round(self.config.epochs * (num_images // self.config.batch_size)))

    # ------------------------------------------------------------ the loop
    def train(self, images: np.ndarray, y: np.ndarray, eval_images: np.ndarray | None = None,
              eval_labels: np.ndarray | None = None, allow_changes: bool = False) -> "Trainer":
        """Train (resuming from ``config.checkpoint`` if it exists) until the epochs or the time limit run out.

        A checkpoint written with other settings than this config's (outside the fields that may change
        on resume) is refused unless ``allow_changes``; one of other data, graph or layout always is.
        """
        c, m = self.config, self.model
        x = m.check_images(images)
        y = np.asarray(y, dtype=np.int64).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        if len(y) < c.batch_size:
            raise ValueError(f"need at least batch_size={c.batch_size} images, got {len(y)}")
        m.label_spins(y)  # validates the label range
        digest = _digest(x, y)
        if c.checkpoint:
            remove_stale_temporaries(c.checkpoint)  # what a kill -9 mid-write left behind
        if c.checkpoint and Path(c.checkpoint).exists():
            self._load(Path(c.checkpoint), digest, allow_changes)
        elif c.data_biases and self.update == 0:
            m.h[m.visible] = np.arctanh(np.clip(x.mean(0, dtype=np.float64), -0.95, 0.95))
            m.h[m.labels.ravel()] = np.arctanh(np.clip(m.label_spins(y).mean(0, dtype=np.float64), -0.95, 0.95))
        total = self.total_updates(len(y))
        bar = _bar(c.progress, total, self.update)
        while self.update < total:
            if c.time_limit_s is not None and self.train_s >= c.time_limit_s:
                break
            t0, c0 = time.perf_counter(), time.process_time()
            self.step(x, y)
            self.train_s += time.perf_counter() - t0
            self.train_cpu_s += time.process_time() - c0
            if eval_images is not None and c.eval_every and self.update % c.eval_every == 0:
                self._evaluate(eval_images, eval_labels, len(y), bar)
            if c.checkpoint and self.update % c.checkpoint_every == 0:
                self._save(Path(c.checkpoint), digest)
            if bar is not None:
                bar.update(1)
        if eval_images is not None and (not self.history or self.history[-1]["update"] != self.update):
            self._evaluate(eval_images, eval_labels, len(y), bar)
        if c.checkpoint:
            self._save(Path(c.checkpoint), digest)
        if bar is not None:
            bar.close()
        return self

    def _evaluate(self, images: np.ndarray, labels: np.ndarray, num_images: int, bar) -> None:
        acc = self.model.score(images, labels, seed=self.config.seed + 1, schedule=self.config.eval_samples)
        self.history.append(dict(self.summary(num_images), accuracy=acc))
        if bar is not None:
            bar.set_postfix(acc=f"{acc:.3f}")

    def summary(self, num_images: int) -> dict:
        """Counters of the run so far: updates, epochs, time, p-bit updates, flips/ns."""
        c = self.config
        return {
            "update": self.update,
            "epoch": self.update * c.batch_size / num_images,
            "train_s": self.train_s,
            "train_cpu_s": self.train_cpu_s,
            "pbit_updates": self.pbit_updates,
            "flips_per_ns_training": self.pbit_updates / max(self.train_s, 1e-12) / 1e9,
            "flips_per_ns_kernels": self.pbit_updates / max(self.sample_s, 1e-12) / 1e9,
            "sweeps_per_update": c.pos_sweeps * (2 if c.discriminative else 1) + (c.neg_sweeps if c.generative else 0),
            "chains": c.batch_size * (2 if c.discriminative else 1) + (c.num_chains if c.generative else 0),
            "phase_threads": self._threads,
        }

    # ------------------------------------------------------------ checkpoints
    def _save(self, path: Path, digest: str) -> None:
        m = self.model
        arrays = dict(weights=m.weights, h=m.h, vel_w=self.vel_w, vel_h=self.vel_h, pos=self.pos.states,
                      neg=self.neg.states)
        if self.cond is not None:
            arrays["cond"] = self.cond.states
        meta = dict(update=self.update, train_s=self.train_s, sample_s=self.sample_s, train_cpu_s=self.train_cpu_s,
                    pbit_updates=self.pbit_updates, history=self.history, config=asdict(self.config),
                    data=digest, edges=m.coupling.num_edges, nodes=m.num_nodes,
                    layout=_digest(m.visible, m.labels), label_block=m.label_block)
        save_json_in_npz(path, arrays, meta)

    def _load(self, path: Path, digest: str, allow_changes: bool = False) -> None:
        m = self.model
        z = read_npz(path, "training checkpoint", required={"meta_json", "weights", "h", "vel_w", "vel_h", "pos", "neg"},
                     allowed={"meta_json", "weights", "h", "vel_w", "vel_h", "pos", "neg", "cond"})
        meta = strict_json(str(z["meta_json"]), path, "training checkpoint (its meta_json record)")
        if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
            raise ValueError(f"{path}: not a training checkpoint (meta_json is not a checkpoint record)")
        mine = {k: v for k, v in asdict(self.config).items() if k not in _RESUMABLE}
        # a field newer than the checkpoint counts as its default
        theirs = {k: v for k, v in {**asdict(TrainConfig()), **meta["config"]}.items() if k not in _RESUMABLE}
        if mine != theirs and not allow_changes:
            diff = sorted(k for k in mine if mine[k] != theirs.get(k))
            raise ValueError(f"{path}: checkpoint was written with other settings ({', '.join(diff)}); "
                             "use another checkpoint path, the same settings, or allow the change explicitly "
                             "(--allow-resume-changes)")
        if meta.get("data") != digest or meta.get("edges") != m.coupling.num_edges or meta.get("nodes") != m.num_nodes:
            raise ValueError(f"{path}: checkpoint belongs to another data set or graph")
        if meta.get("layout") != _digest(m.visible, m.labels):  # absent in older versions: cannot be checked
            raise ValueError(f"{path}: checkpoint has another pixel/label placement (e.g. label copies) "
                             "or none recorded (written by an older version)")
        if meta.get("label_block", "independent") != m.label_block:
            raise ValueError(f"{path}: checkpoint has {meta.get('label_block', 'independent')} label p-bits, "
                             f"the model {m.label_block} ones")
        E, N, c = m.coupling.num_edges, m.num_nodes, self.config
        params = {k: real_array(z[k], k, shape=(size,), source=path)
                  for k, size in (("weights", E), ("h", N), ("vel_w", E), ("vel_h", N))}
        chains = {k: check_spins(z[k], N, name=f"{path}: {k} chain states") for k in ("pos", "neg", "cond")
                  if k in z}
        if chains["pos"].shape[0] != c.batch_size or chains["neg"].shape[0] != c.num_chains:
            raise ValueError(f"{path}: chain counts {chains['pos'].shape[0]}, {chains['neg'].shape[0]} do not "
                             f"match batch_size={c.batch_size}, num_chains={c.num_chains}")
        update = integer(meta.get("update"), "update", min=0, source=path)
        for name in ("train_s", "sample_s", "pbit_updates"):
            number(meta.get(name), name, min=0.0, source=path)
        if not isinstance(meta.get("history"), list):
            raise ValueError(f"{path}: history must be a list")
        m.weights, m.h = params["weights"].copy(), params["h"].copy()
        self.vel_w, self.vel_h = params["vel_w"].copy(), params["vel_h"].copy()
        self._chains(chains["pos"].copy(), chains["neg"].copy(), chains["cond"].copy() if "cond" in chains else None)
        self.update, self.train_s, self.sample_s = update, meta["train_s"], meta["sample_s"]
        self.pbit_updates, self.history = meta["pbit_updates"], meta["history"]
        self.train_cpu_s = meta.get("train_cpu_s", float("nan"))  # absent in checkpoints of older versions


def _digest(x: np.ndarray, y: np.ndarray) -> str:
    """Fingerprint of two arrays: the training data (images, labels) or the layout (pixel, label p-bits)."""
    return hashlib.sha1(x.tobytes() + y.tobytes()).hexdigest()


def _one_numba_thread(job: Callable[[], int]) -> int:
    numba.set_num_threads(1)
    return job()


def _bar(progress: bool, total: int, done: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="DBM updates", unit="upd")
