"""A generic supervised trainer for torch models, in the manner of minGPT's ``trainer.py``.

The trainer knows epochs, batches, an optimiser, gradient clipping, checkpoints and progress; everything a
particular experiment needs (validation, best-model selection, logging, early stopping) is a callback.

Reproducible by construction: the batch order of epoch ``e`` is a permutation drawn from a generator seeded
by ``(seed, e)``, and every optimisation step runs under a torch RNG seeded by ``(seed, global step)`` (dropout
and any other draw inside the model), so a run resumed from a checkpoint -- after an interrupt or a ``kill -9`` --
continues exactly as the uninterrupted run would (same thread count; the checkpoint records it)::

    cfg = TrainerConfig(epochs=20, batch_size=16, lr=1e-3, seed=0, checkpoint="runs/x/ckpt.pt")
    trainer = Trainer(model, loss_fn, cfg, callbacks=[my_validation])
    history = trainer.fit(train_set)            # train_set: len() and train_set[index_tensor] -> batch

``loss_fn(model, batch) -> scalar tensor``. A callback is any callable ``cb(trainer, record) -> dict | None``
called after every epoch with that epoch's record (``epoch``, ``train_loss``, ``seconds``...); the dict it
returns is merged into the record (``{"val_loss": ...}``); ``trainer.stop = True`` ends the run early.
Checkpoints are written atomically (``measure.atomic_path``), at the end of every epoch, every
``checkpoint_every_steps`` steps if set, and when the run is interrupted (Ctrl-C), so nothing is lost.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from paradigmlab.measure import atomic_path, remove_stale_temporaries
from paradigmlab.validate import InputError, integer, number

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine", "exponential")
#: Settings a resumed run may change without making a different run (how long -- unless the schedule is cosine,
#: which depends on the total -- how it reports, where it saves).
RESUME_MAY_CHANGE = ("epochs", "progress", "checkpoint", "checkpoint_every_steps")
CHECKPOINT_KEYS = ("format", "model", "optimizer", "config", "epoch", "batch_in_epoch", "global_step",
                   "history", "extra", "partial", "threads")
FORMAT = "paradigmlab.trainer/1"


@dataclass
class TrainerConfig:
    """How to optimise: epochs, batch, optimiser, schedule, clipping, seed and where to checkpoint."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    lr_schedule: str = "constant"  # "cosine": decays to lr * min_lr_ratio at the last epoch, per step;
    #                                "exponential": lr * decay_rate ** (step / steps_per_epoch), as Keras' ExponentialDecay
    min_lr_ratio: float = 0.1
    warmup_steps: int = 0  # linear warm-up from lr / warmup_steps to lr over the first steps, then the schedule
    decay_rate: float = 0.95
    grad_clip: float = 0.0  # max global grad norm; 0 disables
    seed: int = 0
    shuffle: bool = True
    drop_last: bool = False
    checkpoint: str | None = None  # path of the checkpoint file; None: no checkpoints
    checkpoint_every_steps: int | None = None  # besides every epoch end and on interrupt
    progress: bool = True
    threads: int | None = None  # torch intra-op threads during fit (restored after); None: leave as is
    device: str = "cpu"  # "cpu", "cuda", "cuda:N" or "auto" (CUDA when available)
    flush_denormal: bool = False  # flush float32 denormals to zero during fit (long recurrences: adjoints
    #                               decay into the denormal range, where CPU arithmetic is ~4x slower)

    def __post_init__(self) -> None:
        integer(self.epochs, "epochs", min=1)
        integer(self.batch_size, "batch_size", min=1)
        integer(self.seed, "seed", min=0)
        integer(self.warmup_steps, "warmup_steps", min=0)
        number(self.lr, "lr", positive=True)
        number(self.weight_decay, "weight_decay", min=0.0)
        number(self.grad_clip, "grad_clip", min=0.0)
        number(self.min_lr_ratio, "min_lr_ratio", min=0.0, max=1.0)
        number(self.decay_rate, "decay_rate", positive=True, max=1.0)
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.lr_schedule not in SCHEDULES:
            raise InputError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        for name in ("shuffle", "drop_last", "progress", "flush_denormal"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.checkpoint_every_steps is not None:
            integer(self.checkpoint_every_steps, "checkpoint_every_steps", min=1)
        if self.threads is not None:
            integer(self.threads, "threads", min=1)
        if not isinstance(self.device, str) or not (self.device in ("cpu", "cuda", "auto")
                                                    or (self.device.startswith("cuda:") and self.device[5:].isdigit())):
            raise InputError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def seed_of(*parts: int) -> int:
    """A 63-bit seed that is a fixed function of ``parts`` (seed, epoch, step...)."""
    s = 0
    for p in parts:
        s = (s * 1_000_003 + int(p) + 1) % (2**63 - 1)
    return s


def seeded_generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded by :func:`seed_of` ``(*parts)``."""
    return torch.Generator().manual_seed(seed_of(*parts))


@contextlib.contextmanager
def flushing_denormals(on: bool):
    """Flush denormals to zero inside the block when ``on``; switched off after it (torch has no getter for the
    setting, and off is its default)."""
    if on:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if on:
            torch.set_flush_denormal(False)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch intra-op threads, restoring the previous count afterwards (``None``: unchanged).

    The BLAS libraries numpy and numba call (scipy's OpenBLAS: the compiled CfC loop's GEMMs) get the same
    limit through threadpoolctl, so that a thread count means one thing for every path."""
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    if n is None:
        yield
        return
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(old)


class TensorSet:
    """Tensors sharing their first axis as a dataset: ``len()`` and ``ts[index_tensor] -> tuple of tensors``."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
            raise InputError("TensorSet needs one or more tensors")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise InputError(f"TensorSet tensors must share their first axis, got {[t.shape[0] for t in tensors]}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index) -> tuple:
        return tuple(t[index] for t in self.tensors)


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when available, else CPU; a CUDA device that is not there is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {name!r} asked for, but torch sees no CUDA device")
    return torch.device(name)


@contextlib.contextmanager
def torchrun_group(device: str = "auto"):
    """Join the process group ``torchrun`` describes in the environment (``WORLD_SIZE`` > 1: gloo on CPU, NCCL on
    CUDA, one GPU per local rank) for the block and leave it cleanly after; yields ``(rank, world, device name)``.
    Without torchrun it yields ``(0, 1, device)`` and does nothing."""
    import os

    import torch.distributed as dist

    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    name = str(resolve_device(device))
    if world > 1 and name.startswith("cuda"):
        name = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(torch.device(name))
    joined = world > 1 and not dist.is_initialized()
    if joined:
        dist.init_process_group(backend="nccl" if name.startswith("cuda") else "gloo")
    try:
        yield rank, world, name
    finally:
        if joined:
            dist.barrier()  # a rank that tears down early makes a slower peer abort at exit
            dist.destroy_process_group()


def distributed_world() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised torch.distributed group, ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    """Fit ``model`` by minimising ``loss_fn(model, batch)`` over the batches of a dataset.

    ``collate(batch) -> batch`` (optional) turns the dataset's rows into what ``loss_fn`` takes -- masks, views --
    on the whole batch under the step's seeded RNG, before the batch is split over processes. ``step_hooks`` are
    called as ``hook(trainer)`` after every optimiser step (an EMA target update, say; ``trainer.global_step`` is
    the step just taken, counted from 0, of ``trainer.total_steps``).

    Under an initialised ``torch.distributed`` group (``torchrun``) the model is wrapped in
    ``DistributedDataParallel``: every process collates the same global batch of ``batch_size`` and trains on its
    contiguous share, gradients are averaged by DDP, the recorded loss is the mean over processes, rank 0 alone
    writes checkpoints. ``loss_fn`` then receives the DDP wrapper: call it, do not reach into it.

    Attributes after :meth:`fit`: ``history`` (one dict per epoch), ``global_step``, ``stop`` (set by a callback
    to end early), ``extra`` (a dict callbacks may use for state that must survive a resume, e.g. the best
    validation score and the best weights; it is saved in the checkpoint), ``resumed_from`` (epoch or ``None``).
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
                 config: TrainerConfig, callbacks: list[Callable] | tuple = (), collate: Callable | None = None,
                 step_hooks: list[Callable] | tuple = ()) -> None:
        if not isinstance(model, torch.nn.Module):
            raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(config, TrainerConfig):
            raise InputError(f"config must be a TrainerConfig, got {type(config).__name__}")
        self.device = resolve_device(config.device)
        self.model, self.loss_fn, self.config = model.to(self.device), loss_fn, config
        self.callbacks, self.collate, self.step_hooks = list(callbacks), collate, list(step_hooks)
        self.rank, self.world = distributed_world()
        if self.world > 1 and config.batch_size % self.world:
            raise InputError(f"batch_size {config.batch_size} must be divisible by the {self.world} processes")
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        else:
            self.net = model
        self.total_steps = 0
        self.optimizer = self._make_optimizer()
        self.history: list[dict] = []
        self.extra: dict = {}
        self.global_step = 0
        self.stop = False
        self.resumed_from: int | None = None
        self._epoch, self._batch_in_epoch = 0, 0
        self.partial = new_partial()

    # -- set-up -----------------------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise InputError("model has no trainable parameters")
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        if c.optimizer == "rmsprop":
            # Keras' defaults (rho 0.9, epsilon 1e-7), which the published liquid-network recipes were tuned with;
            # torch's alpha 0.99 makes the first steps ~3x larger and diverged where Keras' settings train
            return torch.optim.RMSprop(params, lr=c.lr, alpha=0.9, eps=1e-7, weight_decay=c.weight_decay)
        return torch.optim.SGD(params, lr=c.lr, weight_decay=c.weight_decay, momentum=0.9)

    def steps_per_epoch(self, n: int) -> int:
        b = self.config.batch_size
        return n // b if self.config.drop_last else math.ceil(n / b)

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate of optimisation step ``step`` of ``total`` (a pure function: resumes exactly)."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        step, total = step - c.warmup_steps, total - c.warmup_steps
        if c.lr_schedule == "exponential":
            return c.lr * c.decay_rate ** (step / max(1, total // c.epochs))
        if c.lr_schedule == "constant" or total <= 1:
            return c.lr
        progress = min(1.0, step / (total - 1))
        lo = c.lr * c.min_lr_ratio
        return lo + 0.5 * (1.0 + math.cos(math.pi * progress)) * (c.lr - lo)

    def epoch_order(self, epoch: int, n: int) -> torch.Tensor:
        """Sample order of ``epoch``: a permutation drawn from ``(seed, epoch)``, or ``arange`` unshuffled."""
        if not self.config.shuffle:
            return torch.arange(n)
        return torch.randperm(n, generator=seeded_generator(self.config.seed, epoch))

    # -- checkpoints ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"format": FORMAT, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "config": self.config.to_dict(), "epoch": self._epoch, "batch_in_epoch": self._batch_in_epoch,
                "global_step": self.global_step, "history": self.history, "extra": self.extra,
                "partial": self.partial, "threads": torch.get_num_threads()}

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write the whole training state atomically to ``path`` (default: ``config.checkpoint``)."""
        path = path or self.config.checkpoint
        if path is None or self.rank != 0:
            return None
        with atomic_path(path) as tmp:
            torch.save(self.state_dict(), tmp)
        return Path(path)

    def load_checkpoint(self, path: str | Path, allow_changes: bool = False) -> None:
        """Restore a checkpoint written by :meth:`save_checkpoint` (checked by :func:`read_checkpoint`).

        Settings other than :data:`RESUME_MAY_CHANGE` must equal the checkpoint's, else the resumed run would
        silently be a different run: refused with the differences named, unless ``allow_changes``.
        """
        state = read_checkpoint(path)
        mine = self.config.to_dict()
        may_change = RESUME_MAY_CHANGE if mine["lr_schedule"] != "cosine" else \
            tuple(k for k in RESUME_MAY_CHANGE if k != "epochs")  # a cosine schedule spans the whole run
        saved = {**TrainerConfig().to_dict(), **state["config"]}  # a setting newer than the file: its default
        changed = {k: (v, mine.get(k)) for k, v in saved.items() if k not in may_change and mine.get(k) != v}
        if changed and not allow_changes:
            diff = ", ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in ((k, *v) for k, v in changed.items()))
            raise InputError(f"{path}: the checkpoint was written with other settings ({diff}); resume with the "
                             "same settings, or allow the changes explicitly")
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise InputError(f"{path}: the checkpoint's weights do not fit this model ({str(exc)[:300]})") from None
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as exc:
            raise InputError(f"{path}: the checkpoint's optimiser state does not fit ({exc})") from None
        self._epoch, self._batch_in_epoch = state["epoch"], state["batch_in_epoch"]
        self.global_step, self.history, self.extra = state["global_step"], state["history"], state["extra"]
        self.partial = state["partial"]
        self.resumed_from = self._epoch

    # -- the loop ---------------------------------------------------------------------------------------
    def fit(self, train_set, resume: bool = True, allow_changes: bool = False) -> list[dict]:
        """Train for ``config.epochs`` epochs over ``train_set`` (``len()`` and ``train_set[indices]``).

        With ``resume`` and an existing ``config.checkpoint``, continues from it. Returns ``history``.
        """
        c = self.config
        n = len(train_set)
        if n == 0:
            raise InputError("train_set is empty")
        per_epoch = self.steps_per_epoch(n)
        if per_epoch == 0:
            raise InputError(f"batch_size {c.batch_size} exceeds the {n} training samples with drop_last=True")
        if c.checkpoint is not None:
            remove_stale_temporaries(c.checkpoint)
            if resume and Path(c.checkpoint).is_file():
                self.load_checkpoint(c.checkpoint, allow_changes=allow_changes)
        total = c.epochs * per_epoch
        self.total_steps = total
        self.model.train()
        with torch_threads(c.threads), flushing_denormals(c.flush_denormal), tqdm(total=total, initial=min(self.global_step, total), unit="step",
                                            disable=not c.progress, leave=False, desc="train") as bar:
            try:
                while self._epoch < c.epochs and not self.stop:
                    self._run_epoch(train_set, per_epoch, total, bar)
            except KeyboardInterrupt:
                self.save_checkpoint()  # the steps done so far are kept; a later fit() resumes here
                raise
        return self.history

    def _run_epoch(self, train_set, per_epoch: int, total: int, bar) -> None:
        c, b = self.config, self.config.batch_size
        order = self.epoch_order(self._epoch, len(train_set))
        # the running sums of this epoch live in self.partial, which every checkpoint saves: a run interrupted
        # mid-epoch (or during the callbacks) resumes with the same epoch record as an uninterrupted one
        p = self.partial
        t0, seconds_before = time.perf_counter(), p["seconds"]
        while self._batch_in_epoch < per_epoch:
            i = self._batch_in_epoch
            batch = train_set[order[i * b:(i + 1) * b]]
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_at(self.global_step, total)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed_of(c.seed, -1, self.global_step))
                if self.collate is not None:
                    batch = self.collate(batch)
                batch = self.local_share(batch)
                loss = self.loss_fn(self.net, batch)
                if not bool(torch.isfinite(loss)):
                    raise FloatingPointError(f"the training loss is {loss.item()} at epoch {self._epoch}, "
                                             f"step {self.global_step}: lower lr or enable grad_clip")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
                self.optimizer.step()
                for hook in self.step_hooks:
                    hook(self)
            p["loss_sum"] += self.mean_over_processes(loss)
            p["count"] += 1
            p["seconds"] = seconds_before + time.perf_counter() - t0
            self.global_step += 1
            self._batch_in_epoch += 1
            bar.update(1)
            if (c.checkpoint_every_steps and self.global_step % c.checkpoint_every_steps == 0
                    and self._batch_in_epoch < per_epoch):
                self.save_checkpoint()
        record = {"epoch": self._epoch + 1, "step": self.global_step, "train_loss": p["loss_sum"] / max(p["count"], 1),
                  "seconds": p["seconds"], "lr": self.optimizer.param_groups[0]["lr"]}
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            for cb in self.callbacks:
                out = cb(self, record)
                if out:
                    record.update(out)
        self.model.train(was_training)
        # the epoch counts as done only now, with its record: an interrupt above repeats the callbacks only
        self.history.append(record)
        self._epoch, self._batch_in_epoch = self._epoch + 1, 0
        self.partial = new_partial()
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch", "step", "seconds", "lr")
                         and isinstance(v, float)})
        self.save_checkpoint()


    def local_share(self, batch):
        """This process's contiguous share of a collated batch (a tensor or a tuple/list of them, batch-first),
        on the training device."""
        def share(t):
            if not isinstance(t, torch.Tensor):
                return t
            if self.world > 1:
                t = t.tensor_split(self.world)[self.rank]
            return t.to(self.device, non_blocking=True)
        return type(batch)(share(t) for t in batch) if isinstance(batch, (tuple, list)) else share(batch)

    def mean_over_processes(self, loss: torch.Tensor) -> float:
        if self.world == 1:
            return loss.item()
        import torch.distributed as dist

        t = loss.detach().clone()
        dist.all_reduce(t)
        return t.item() / self.world


def new_partial() -> dict:
    """The running sums of an epoch in progress."""
    return {"loss_sum": 0.0, "count": 0, "seconds": 0.0}


class KeepBest:
    """Callback: remember the weights of the epoch with the best ``metric`` (a key of the epoch record that an
    earlier callback fills, e.g. ``"val_loss"``), in ``trainer.extra`` so that it survives a resume.

    ``restore(trainer)`` loads them into the model at the end (the protocol of the LTC paper's code: report
    the test score of the epoch with the best validation score)."""

    def __init__(self, metric: str = "val_loss", mode: str = "min") -> None:
        if mode not in ("min", "max"):
            raise InputError(f"mode must be 'min' or 'max', got {mode!r}")
        self.metric, self.mode = metric, mode

    def __call__(self, trainer: "Trainer", record: dict) -> dict:
        if self.metric not in record:
            raise InputError(f"KeepBest: the epoch record has no {self.metric!r} (have {sorted(record)}); "
                             "put the callback that computes it first")
        value, best = float(record[self.metric]), trainer.extra.get("best")
        better = best is None or (value < best["value"] if self.mode == "min" else value > best["value"])
        if better:
            state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            trainer.extra["best"] = {"value": value, "epoch": record["epoch"], "model": state}
        return {"best_epoch": trainer.extra["best"]["epoch"]}

    @staticmethod
    def restore(trainer: "Trainer") -> dict | None:
        """Load the best weights into ``trainer.model``; returns ``{"value", "epoch"}`` or ``None``."""
        best = trainer.extra.get("best")
        if best is None:
            return None
        trainer.model.load_state_dict(best["model"])
        return {"value": best["value"], "epoch": best["epoch"]}


def load_torch_file(path: str | Path, what: str = "checkpoint", map_location="cpu") -> dict:
    """``torch.load(path, weights_only=True)`` -- tensors and plain containers only, a pickle that would run code
    is refused -- as a dict; a missing file is ``FileNotFoundError``, anything unreadable a ``ValueError``, both
    naming the file and ``what`` it should be."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged or hostile files
        raise ValueError(f"{path}: not a readable {what} ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a {what} (a {type(state).__name__}, not a dict)")
    return state


def check_weights(weights, path: str | Path, entry: str = "model") -> None:
    """``weights`` must be a dict of tensors with finite floating values; the error names the file and entry."""
    if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise ValueError(f"{path}: the {entry} entry is not a dict of tensors")
    bad = [k for k, t in weights.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise ValueError(f"{path}: non-finite weights in {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}")


def read_checkpoint(path: str | Path) -> dict:
    """A trainer checkpoint, checked before use: ``weights_only=True`` (a pickle that would run code is
    refused), the keys and format it must have, a valid config, finite weights, counters in range. Every
    problem is a ``ValueError`` naming the file."""
    path = Path(path)
    state = load_torch_file(path, "checkpoint")
    if any(k not in state for k in CHECKPOINT_KEYS) or state["format"] != FORMAT:
        have = sorted(state)
        raise ValueError(f"{path}: not a paradigmlab trainer checkpoint (needs {', '.join(CHECKPOINT_KEYS)} and "
                         f"format {FORMAT!r}; has {have})")
    try:
        cfg = TrainerConfig(**state["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid trainer configuration in the checkpoint ({exc})") from None
    check_weights(state["model"], path)
    integer(state["epoch"], "epoch", min=0, max=max(cfg.epochs, state["epoch"]), source=path)
    integer(state["batch_in_epoch"], "batch_in_epoch", min=0, source=path)
    integer(state["global_step"], "global_step", min=0, source=path)
    if not isinstance(state["history"], list) or not isinstance(state["extra"], dict):
        raise ValueError(f"{path}: history must be a list and extra a dict")
    if len(state["history"]) != state["epoch"]:
        raise ValueError(f"{path}: history has {len(state['history'])} epochs, the counter says {state['epoch']}")
    part = state["partial"]
    if not isinstance(part, dict) or set(part) != set(new_partial()):
        raise ValueError(f"{path}: partial must be a dict with {sorted(new_partial())}")
    number(part["loss_sum"], "partial.loss_sum", source=path)
    number(part["seconds"], "partial.seconds", min=0.0, source=path)
    integer(part["count"], "partial.count", min=0, source=path)
    return state


__all__ = ["CHECKPOINT_KEYS", "KeepBest", "OPTIMIZERS", "RESUME_MAY_CHANGE", "SCHEDULES", "TensorSet", "Trainer", "TrainerConfig",
           "check_weights", "distributed_world", "flushing_denormals", "load_torch_file", "read_checkpoint", "resolve_device",
           "seed_of", "seeded_generator", "torch_threads", "torchrun_group"]
