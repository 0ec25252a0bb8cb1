"""The diffusion LM's runs, shared by ``paradigmlab diffusion``, the report section and the benchmarks.

- :func:`load_corpus`: a token file (``.npy``, 1-D integer ids) or a built-in corpus by name (``markov`` or
  ``markov:N`` for N tokens: an order-2 Markov chain with an exact entropy rate; ``shakespeare`` / ``bible`` /
  ``both`` with bytes or GPT-2 BPE).
- :func:`choose_shape`: the model size for a time budget and a corpus (the same rule for both kinds, so an AR
  and a diffusion model trained on one budget have the same shape).
- :func:`train_run`: one model, ``kind`` ``"mdm"`` (masked diffusion) or ``"ar"``, within ``minutes`` or
  ``steps``, on the looped LM's trainer (AdamW, warmup + cosine, checkpoints that resume bit-exactly, torchrun).
- :func:`evaluate_run`: the AR model's exact NLL or the diffusion model's NELBO, in nats per token (and bits per
  byte on text, and against the entropy rate on the Markov corpus).
- :func:`generate_run` and :func:`sampler_study`: samples, their quality (NLL under a judge: the true source on the
  Markov corpus, a stronger AR model on text; per-sample entropy) and their speed, against AR with a KV cache.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from paradigmlab.data.markov import DEFAULT_SOURCE, DEFAULT_TOKENS, MarkovSource
from paradigmlab.data.text import CORPORA, TextData, load_text_data
from paradigmlab.data.tokens import check_tokens, load_token_file, token_data
from paradigmlab.diffusion.mdm import (ESTIMATORS, MarkovDenoiser, MaskedDiffusion, ar_nll, data_vocab, denoiser_config,
                                      nelbo, nelbo_by_time)
from paradigmlab.diffusion.sampling import SamplerConfig, sample
from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.looped.train import CHECKPOINT, TrainConfig, load_checkpoint, train
from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.trainer import torch_threads
from paradigmlab.validate import InputError, integer, number

KINDS = ("mdm", "ar")
EVAL_SEED = 1  # the built-in Markov corpus's held-out stream (training uses seed 0)
RUN_FILE = "run.json"  # the run's corpus, kind and budget, beside ckpt.pt


# ------------------------------------------------------------------------------------------- data
@dataclass
class Corpus:
    """Token data for training (train / val split) plus what is known about its source."""

    name: str
    data: TextData
    source: MarkovSource | None = None  # the Markov corpus: exact entropy, exact judge of samples

    @property
    def vocab_size(self) -> int:
        return self.data.tokenizer.vocab_size

    @property
    def has_bytes(self) -> bool:
        return self.data.val.n_bytes > 0

    def describe(self) -> dict:
        d = {"name": self.name, "tokenizer": self.data.tokenizer.name, "vocab_size": self.vocab_size,
             "train_tokens": int(len(self.data.train.tokens)), "val_tokens": int(len(self.data.val.tokens))}
        if self.source is not None:
            d["markov"] = self.source.describe()
        return d


def markov_size(spec: str, default: int = DEFAULT_TOKENS) -> int | None:
    """``None`` unless ``spec`` names the built-in Markov corpus: ``"markov"`` (``default`` tokens) or
    ``"markov:N"``, N training + validation tokens (a long budget outgrows the default 10^6: an AR model overfits
    it after ~6,000 steps of batch 32 x 128)."""
    if spec == "markov":
        return default
    if not spec.startswith("markov:"):
        return None
    try:
        n = int(spec[len("markov:"):].replace("_", ""))
    except ValueError:
        n = 0
    if n < 10_000:
        raise InputError(f"--data {spec!r}: the Markov corpus size after 'markov:' must be an integer >= 10000")
    return n


def load_corpus(spec: str, tokenizer: str = "bytes", max_chars: int | None = None, vocab_size: int | None = None,
                n_tokens: int = DEFAULT_TOKENS) -> Corpus:
    """``spec``: a ``.npy`` token file, ``markov`` (:data:`paradigmlab.data.markov.DEFAULT_SOURCE`, ``n_tokens``
    tokens), or a text corpus name (:data:`paradigmlab.data.text.CORPORA`) with ``tokenizer``."""
    n = markov_size(spec, n_tokens)
    if n is not None:
        src = MarkovSource(**DEFAULT_SOURCE)
        return Corpus("markov", token_data(src.sample(n, seed=0), src.vocab_size, name="markov"), src)
    if spec in CORPORA:
        return Corpus(f"{spec}-{tokenizer}", load_text_data(spec, tokenizer, max_chars=max_chars))
    if spec.endswith(".npy") or Path(spec).exists():
        tokens = load_token_file(spec, vocab_size)
        return Corpus(Path(spec).name, token_data(tokens, vocab_size, name=Path(spec).name))
    raise InputError(f"--data must be a .npy token file or one of {('markov',) + CORPORA}, got {spec!r}")


def eval_tokens(spec: str, corpus_name: str, vocab_size: int, tokenizer: str = "bytes",
                max_tokens: int = 1 << 17) -> tuple[np.ndarray, MarkovSource | None, float | None]:
    """Held-out tokens to evaluate on: the given file (all of it, up to ``max_tokens``), a fresh stream of the
    built-in Markov chain, or the text corpus's validation split. Also its source and bytes per token if known."""
    if markov_size(spec) is not None:  # any size: a fresh stream of the same chain
        src = MarkovSource(**DEFAULT_SOURCE)
        return src.sample(max_tokens, seed=EVAL_SEED), src, None
    if spec in CORPORA:
        d = load_text_data(spec, tokenizer)
        return d.val.tokens[:max_tokens].astype(np.int64), None, d.val.bytes_per_token
    tokens = load_token_file(spec)
    if tokens.max() >= vocab_size:
        raise InputError(f"{spec}: token id {tokens.max()} is outside the checkpoint's vocabulary of {vocab_size} "
                         f"(the model was trained on {corpus_name!r}); evaluate on data with the same vocabulary")
    return tokens[:max_tokens], None, None


# ------------------------------------------------------------------------------------------- sizes
#: Model shapes to choose from (d_model, layers, heads, head_dim), smallest first. The small ones have more and
#: wider heads than d_model / heads: a bidirectional denoiser must gather several neighbours at once (a masked
#: token's own embedding says nothing), and at d=64 four heads of 32 cut the Markov NELBO after 1,200 steps from
#: 2.49 (two of 32) or 2.53 (four of 16) to 2.27 nats/token, where a wider MLP did not help (2.62 at d_ff 384).
SHAPES = ((64, 2, 4, 32), (96, 2, 4, 32), (128, 2, 4, 32), (128, 3, 4, 32), (128, 4, 4, 32), (192, 4, 6, 32),
          (256, 4, 8, 32), (256, 6, 8, 32), (384, 6, 6, 64), (512, 8, 8, 64), (768, 12, 12, 64))
SHAPE_KEYS = ("d_model", "layers", "n_head", "head_dim")
ROPE_BASE = 1e4  # contexts of 128-256 tokens: Qwen3's 1e6 leaves most rotary frequencies unused
TOKENS_PER_PARAM = 20  # Chinchilla's compute-optimal ratio
MAX_EPOCHS = 4  # repeated data is worth about fresh data up to ~4 epochs (Muennighoff et al. 2023)


def choose_shape(tokens_per_s: float, seconds: float, train_tokens: int, vocab_size: int, block_size: int,
                 block: str = "qwen3") -> dict:
    """The largest of :data:`SHAPES` whose parameters (embeddings included) are at most
    ``min(budget tokens, MAX_EPOCHS x data tokens) / TOKENS_PER_PARAM``, ``budget tokens = tokens_per_s x seconds``
    (the speed measured for the smallest shape; larger shapes run at fewer tokens/s in proportion to their FLOPs,
    so the estimate is refined per shape)."""
    def lm(shape):
        return LoopedLM.shape_only(LoopedConfig(vocab_size=vocab_size, block_size=block_size, block=block,
                                                **dict(zip(SHAPE_KEYS, shape))))

    base_flops = lm(SHAPES[0]).flops_per_token(block_size)
    best = SHAPES[0]
    for shape in SHAPES:
        m = lm(shape)
        budget = tokens_per_s * base_flops / m.flops_per_token(block_size) * seconds
        usable = min(budget, MAX_EPOCHS * train_tokens)
        if m.num_params() <= usable / TOKENS_PER_PARAM:
            best = shape
    return dict(zip(SHAPE_KEYS, best))


def model_config(kind: str, vocab_size: int, block_size: int, shape: dict) -> LoopedConfig:
    """The AR model, or the diffusion model (bidirectional, one more token for ``[MASK]``), of one shape."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "mdm":
        return denoiser_config(vocab_size, block_size=block_size, **shape)
    return LoopedConfig(vocab_size=vocab_size, block_size=block_size, **shape)


def objective_for(kind: str, var_len_prob: float = 0.01, estimator: str = "time"):
    # None: the trainer's next-token loss
    return MaskedDiffusion(var_len_prob, estimator) if kind == "mdm" else None


def measure_step(mc: LoopedConfig, kind: str, batch_size: int, steps: int = 4, device: str = "cpu") -> float:
    """Median seconds of a training step (forward, backward, AdamW) of a fresh model of ``mc``."""
    model = LoopedLM(mc).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = objective_for(kind) or (lambda m, x, y, g: m(x, y)[1])
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, mc.vocab_size - (kind == "mdm"), (batch_size, mc.block_size), generator=g).to(device)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss_fn(model, x, x, g).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i:  # the first step warms up allocators and kernels
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ------------------------------------------------------------------------------------------- training
@dataclass(frozen=True)
class RunSpec:
    """One training run as the command line states it (``None``: chosen from the budget and the corpus)."""

    data: str
    kind: str = "mdm"
    minutes: float | None = None
    steps: int | None = None
    seed: int = 0
    tokenizer: str = "bytes"
    max_chars: int | None = None
    block_size: int = 128
    batch_size: int = 32
    d_model: int | None = None
    layers: int | None = None
    n_head: int | None = None
    head_dim: int | None = None  # None: the shape's (SHAPES), or d_model / n_head for a shape given by hand
    rope_base: float = ROPE_BASE
    loops: int = 1
    block: str = "qwen3"  # RoPE blocks: a GPT-2 block's learned absolute positions left the denoiser at uniform
    lr: float = 2e-3
    var_len_prob: float = 0.01
    estimator: str = "time"  # mdm: the training loss's draw, t or the mask count (mdm.ESTIMATORS)
    eval_every: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if (self.minutes is None) == (self.steps is None):
            raise InputError("give exactly one of minutes (a time budget) and steps")
        if self.minutes is not None:
            number(self.minutes, "minutes", positive=True)
        if self.steps is not None:
            integer(self.steps, "steps", min=1)
        for name in ("block_size", "batch_size", "loops"):
            integer(getattr(self, name), name, min=1)
        for name in ("d_model", "layers", "n_head", "head_dim", "eval_every"):
            if getattr(self, name) is not None:
                integer(getattr(self, name), name, min=1)
        number(self.lr, "lr", positive=True)
        number(self.rope_base, "rope_base", positive=True)
        if self.estimator not in ESTIMATORS:
            raise InputError(f"estimator must be one of {tuple(ESTIMATORS)}, got {self.estimator!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def plan(spec: RunSpec, corpus: Corpus, threads: int | None = None) -> tuple[LoopedConfig, TrainConfig, dict]:
    """Model and training configs of a run: the shape from the budget unless given, the steps that fit
    ``minutes`` (measured, 90 % of the budget for steps, the rest for evaluation and checkpoints)."""
    note = {}
    shape = {"d_model": spec.d_model, "layers": spec.layers, "n_head": spec.n_head}
    with torch_threads(threads):
        if any(v is None for v in shape.values()):
            if spec.minutes is None:
                raise InputError("without --minutes give the shape (--d-model, --layers, --n-head)")
            small = dict(zip(SHAPE_KEYS, SHAPES[0]), block=spec.block, rope_base=spec.rope_base)
            t_small = measure_step(model_config(spec.kind, corpus.vocab_size, spec.block_size, small), spec.kind,
                                   spec.batch_size)
            tok_s = spec.batch_size * spec.block_size / t_small
            chosen = choose_shape(tok_s, 60 * spec.minutes, len(corpus.data.train.tokens), corpus.vocab_size,
                                  spec.block_size, spec.block)
            by_hand = any(v is not None for v in shape.values())
            shape = {k: v if v is not None else chosen[k] for k, v in shape.items()}
            # the chosen shape's heads, unless a width or head count was given by hand (then d / n_head)
            shape["head_dim"] = None if by_hand else chosen["head_dim"]
            note["probe_tokens_per_s"] = tok_s
        if spec.head_dim is not None:
            shape["head_dim"] = spec.head_dim
        shape.update(loops=spec.loops, block=spec.block, rope_base=spec.rope_base)
        mc = model_config(spec.kind, corpus.vocab_size, spec.block_size, shape)
        steps = spec.steps
        if steps is None:
            t_step = measure_step(mc, spec.kind, spec.batch_size)
            steps = max(1, int(0.9 * 60 * spec.minutes / t_step))
            note["measured_step_s"] = t_step
    eval_every = spec.eval_every or max(1, steps // 10)
    tc = TrainConfig(steps=steps, batch_size=spec.batch_size, lr=spec.lr, warmup_steps=min(100, max(1, steps // 20)),
                     eval_every=eval_every, eval_batches=10, seed=spec.seed)
    return mc, tc, note


def train_run(spec: RunSpec, out: str | Path | None = None, progress: bool = True, threads: int | None = None,
              stop_at: int | None = None) -> dict:
    """Train one model. With ``out``, the run lives there (``ckpt.pt`` every evaluation, ``run.json``,
    ``result.json``); the same command again resumes an interrupted run from its checkpoint -- with the plan
    recorded in ``run.json`` (steps, shape), not a new measurement, so the resumed run is the same run."""
    corpus = load_corpus(spec.data, spec.tokenizer, spec.max_chars)
    out = Path(out) if out is not None else None
    recorded = out / RUN_FILE if out is not None else None
    if recorded is not None and recorded.is_file() and (out / CHECKPOINT).is_file():
        saved = json.loads(recorded.read_text())
        defaults = RunSpec(data=spec.data, steps=1).to_dict()  # a run recorded before a field existed had its default
        saved_spec = {k: saved["spec"].get(k, defaults[k]) for k in defaults}
        if saved_spec != spec.to_dict():
            diff = sorted(k for k in spec.to_dict() if saved_spec[k] != spec.to_dict()[k])
            raise InputError(f"{out} holds a run with other settings ({', '.join(diff)}); use another --out")
        mc = LoopedConfig.from_dict(saved["model_config"])
        # a field the record lacks took the model's default of its day (rope_base 1e6 before 1e4): report the
        # model's value, not today's default
        spec = replace(spec, **{k: getattr(mc, k) for k in defaults
                                if k not in saved["spec"] and k in saved["model_config"]})
        tc = TrainConfig(**{**saved["train_config"], "progress": progress})
        note = saved["plan"]
    else:
        world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
        if world > 1 and (spec.minutes is not None or None in (spec.d_model, spec.layers, spec.n_head)):
            # a plan measured on each process could differ between them (and deadlock the run)
            raise InputError("under torchrun give --steps and the shape (--d-model, --layers, --n-head)")
        mc, tc, note = plan(spec, corpus, threads)
        if out is not None and rank == 0:
            out.mkdir(parents=True, exist_ok=True)
            write_json_atomic(recorded, {"spec": spec.to_dict(), "model_config": mc.to_dict(),
                                         "train_config": asdict(tc), "plan": note, "corpus": corpus.describe()})
    tc.out_dir = str(out) if out is not None else None
    tc.progress = progress
    with torch_threads(threads):
        res = train(mc, tc, corpus.data, objective=objective_for(spec.kind, spec.var_len_prob, spec.estimator), stop_at=stop_at)
    result = res.to_dict()
    rank = int(os.environ.get("RANK", "0"))
    result.update({"kind": spec.kind, "spec": spec.to_dict(), "plan": note, "corpus": corpus.describe(),
                   "params": res.model.num_params(), "machine": machine_info(), "rank": rank})
    if out is not None and res.steps_done == tc.steps and rank == 0:
        write_json_atomic(out / "result.json", result)
    result["model"] = res.model
    return result


def kind_of(model: LoopedLM) -> str:
    return "ar" if model.config.causal else "mdm"


def load_run(path: str | Path, device: str = "cpu") -> tuple[LoopedLM, dict]:
    """The model of a run folder (or ``ckpt.pt``), eval mode, and its checkpoint."""
    model, state = load_checkpoint(path, device)
    want = state["objective"]
    if want != kind_of(model):
        raise InputError(f"{path}: the checkpoint's objective {want!r} does not match its model "
                         f"({'causal' if model.config.causal else 'bidirectional'})")
    return model, state


# ------------------------------------------------------------------------------------------- evaluation
def evaluate_model(model: LoopedLM, tokens: np.ndarray, samples: int = 8, seed: int = 0, max_windows: int = 512,
                   bytes_per_token: float | None = None, source: MarkovSource | None = None,
                   estimator: str = "time", by_time_windows: int = 128) -> dict:
    """NLL (AR, exact) or NELBO (diffusion, ``samples`` draws per window by ``estimator``) of ``tokens`` in nats
    per token. A diffusion model on a known Markov source also gets its NELBO split by mask rate next to the
    exact denoiser's on the same draws (:func:`nelbo_against_exact`, ``by_time_windows`` windows)."""
    kind = kind_of(model)
    vocab = data_vocab(model)
    t = torch.from_numpy(check_tokens(tokens, "evaluation tokens", vocab))
    T = model.config.block_size
    if kind == "ar":
        t = t[: max_windows * T + 1]
        r = ar_nll(model, t)
    else:
        n = min(max_windows, len(t) // T)
        if n < 1:
            raise InputError(f"evaluation needs at least one window of {T} tokens, got {len(t)} tokens")
        r = nelbo(model, t[: n * T].view(n, T), samples=samples, seed=seed, estimator=estimator)
    r["kind"] = kind
    r["nats_per_token"] = r["nll_per_token"]
    r["bits_per_token"] = r["nll_per_token"] / math.log(2)
    if bytes_per_token:
        r["bits_per_byte"] = r["bits_per_token"] / bytes_per_token
    if source is not None:
        h = source.entropy_rate()
        r["entropy_rate"] = h
        r["excess_over_entropy_rate"] = r["nll_per_token"] / h - 1
        if kind == "mdm":  # a window without earlier context cannot beat H(X_1..X_L) / L
            r["window_entropy_per_token"] = source.block_entropy(T) / T
            r["excess_over_window_entropy"] = r["nll_per_token"] / r["window_entropy_per_token"] - 1
            r["by_time"] = nelbo_against_exact(model, source, t, by_time_windows, samples, seed)
    return r


def nelbo_against_exact(model: LoopedLM, source: MarkovSource, tokens: torch.Tensor, windows: int = 128,
                        samples: int = 8, seed: int = 0, bins: int = 10) -> dict:
    """Where a denoiser's NELBO excess lives: :func:`paradigmlab.diffusion.mdm.nelbo_by_time` of ``model`` and of
    the source's exact denoiser on the same windows and the same ``(t, mask)`` draws."""
    T = model.config.block_size
    n = min(windows, len(tokens) // T)
    w = tokens[: n * T].view(n, T)
    mine = nelbo_by_time(model, w, bins=bins, samples=samples, seed=seed)
    floor = nelbo_by_time(MarkovDenoiser(source, T), w, bins=bins, samples=samples, seed=seed)
    return {"edges": mine["edges"], "model": mine["share"], "exact": floor["share"], "windows": n,
            "samples": samples, "model_nelbo": mine["nll_per_token"], "exact_nelbo": floor["nll_per_token"]}


def text_tokenizer(state: dict, asked: str | None = None) -> str:
    """The tokenizer to read a text corpus with: the checkpoint's own (a model scores only its tokenizer's ids);
    ``asked`` (the command line's ``--tokenizer``) is ignored for a model trained on text, as its default would
    otherwise override the model's."""
    return state["tokenizer"] if state["tokenizer"] in ("bytes", "gpt2") else (asked or "bytes")


def evaluate_run(path: str | Path, data: str, samples: int = 8, seed: int = 0, max_windows: int = 512,
                 tokenizer: str | None = None, estimator: str = "time") -> dict:
    """:func:`evaluate_model` of a run folder on ``data`` (a token file, or ``markov`` / a corpus name)."""
    model, state = load_run(path)
    tok = text_tokenizer(state, tokenizer)
    vocab = data_vocab(model)
    if state["tokenizer"].startswith("ids-") and data in CORPORA:
        raise InputError(f"the model was trained on token ids ({state['tokenizer']}), not on the {data} text")
    tokens, source, bpt = eval_tokens(data, state["tokenizer"], vocab, tok)
    r = evaluate_model(model, tokens, samples, seed, max_windows, bpt, source, estimator)
    r.update({"run": str(path), "data": data, "params": model.num_params()})
    return r


def paired_runs(data: str, minutes: float, out_dir: str | Path, seed: int = 0, tokenizer: str = "bytes",
                threads: int | None = None, progress: bool = False, samples: int = 8, **spec) -> dict:
    """The equal-budget comparison: the AR model trained within ``minutes`` (its shape and steps planned from
    the budget), then the diffusion model of the same shape for the same steps and batch (equal training
    tokens and FLOPs), both evaluated on held-out data. Run folders ``out_dir/ar``, ``out_dir/mdm`` resume."""
    out_dir = Path(out_dir)
    ar = train_run(RunSpec(data=data, kind="ar", minutes=minutes, seed=seed, tokenizer=tokenizer, **spec),
                   out_dir / "ar", progress=progress, threads=threads)
    c = ar["model_config"]
    mdm_spec = {**spec, "d_model": c["d_model"], "layers": c["layers"], "n_head": c["n_head"],
                "head_dim": c["head_dim"]}
    mdm = train_run(RunSpec(data=data, kind="mdm", steps=ar["steps_done"], seed=seed, tokenizer=tokenizer,
                            **mdm_spec), out_dir / "mdm", progress=progress, threads=threads)
    rows = []
    with torch_threads(threads):
        for r in (ar, mdm):
            kind = r["kind"]
            ev = evaluate_run(out_dir / kind, data, samples=samples, tokenizer=tokenizer)
            rows.append({"kind": kind, "params": r["params"], "steps": r["steps_done"], "tokens": r["tokens_seen"],
                         "train_s": r["train_time_s"], "tokens_per_s": r["tokens_per_s"],
                         "flops": r["tokens_seen"] * r["model"].flops_per_token(r["model"].config.block_size),
                         "eval": {k: v for k, v in ev.items() if k != "run"}})
    return {"data": data, "minutes": minutes, "seed": seed, "rows": rows, "model_config": c,
            "machine": machine_info(), "runs": {"ar": str(out_dir / "ar"), "mdm": str(out_dir / "mdm")}}


# ------------------------------------------------------------------------------------------- sampling
def tokenizer_of(state: dict):
    """The tokenizer a run was trained with (ids-V: token ids are their own text)."""
    from paradigmlab.data.text import get_tokenizer
    from paradigmlab.data.tokens import IdTokenizer

    name = state["tokenizer"]
    if name.startswith("ids-"):
        return IdTokenizer(int(name[4:]))
    return get_tokenizer(name)


def sampler_config(model: LoopedLM, method: str | None = None, **options) -> SamplerConfig:
    """A :class:`SamplerConfig` with the model's default method (llada for diffusion, ar for AR)."""
    method = method or ("llada" if kind_of(model) == "mdm" else "ar")
    return SamplerConfig(method=method, **{k: v for k, v in options.items() if v is not None})


def generate_run(path: str | Path, method: str | None = None, prompt: str = "", batch_size: int = 1, seed: int = 0,
                 **options) -> dict:
    """Samples from a run folder: decoded text (ids for token models), the tokens, and their cost."""
    model, state = load_run(path)
    tok = tokenizer_of(state)
    ids = tok.encode(prompt) if prompt else []
    if not ids and kind_of(model) == "ar":
        if tok.eot is None:
            raise InputError("an AR model over token ids needs a --prompt (whitespace-separated ids) to start from")
        ids = [tok.eot]  # text models start after a document boundary
    cfg = sampler_config(model, method, **options)
    out = sample(model, cfg, batch_size=batch_size, prompt=torch.tensor(ids, dtype=torch.long), seed=seed)
    return {"sampler": cfg.to_dict(), "prompt": prompt, "samples": [tok.decode(row.tolist()) for row in out.tokens],
            "tokens": out.tokens.tolist(), "cost": out.cost(), "machine": machine_info()}


def sample_entropy(tokens: torch.Tensor) -> float:
    """Mean over samples of the entropy (nats) of each sample's own token histogram: low values flag repetition
    (MDLM's check on generative perplexity, which a repetitive sampler can game)."""
    ents = []
    for row in tokens:
        counts = torch.bincount(row).double()
        p = counts[counts > 0] / counts.sum()
        ents.append(float(-(p * p.log()).sum()))
    return statistics.fmean(ents)


def judge_nll(prompts: torch.Tensor, continuations: torch.Tensor, source: MarkovSource | None,
              judge: LoopedLM | None) -> float:
    """NLL per token (nats) of ``continuations`` given ``prompts`` under the judge: the true Markov source when
    there is one (exact), else an AR model (teacher forcing)."""
    full = torch.cat([prompts, continuations], dim=1)
    if source is not None:
        lp = source.log_prob(full.numpy()) - source.log_prob(prompts.numpy())
        return float(-lp.mean() / continuations.size(1))
    with torch.no_grad():
        logits, _ = judge(full[:, :-1])
        logp = torch.log_softmax(logits.float(), dim=-1)
        P = prompts.size(1)
        tgt = full[:, P:]
        lp = logp[:, P - 1:].gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    return float(-lp.mean())


def sampler_settings(length: int, tokens_per_step: tuple[int, ...], block_length: int | None = None) -> list[dict]:
    """The study's samplers: AR, then per tokens-per-step ancestral, LLaDA (low-confidence, semi-AR blocks), and
    LLaDA with the block KV cache."""
    block = block_length or max(1, length // 4)
    out = [{"label": "AR + KV cache", "method": "ar", "tokens_per_step": 1}]
    for k in tokens_per_step:
        if k > length:
            continue
        out.append({"label": f"ancestral, {k}/step", "method": "ancestral", "tokens_per_step": k})
        if k <= block:
            out.append({"label": f"LLaDA, {k}/step", "method": "llada", "tokens_per_step": k, "block_length": block})
            out.append({"label": f"LLaDA + cache, {k}/step", "method": "llada", "tokens_per_step": k,
                        "block_length": block, "cache": "prefix"})
    return out


def time_sampler(model: LoopedLM, cfg: SamplerConfig, prompts: torch.Tensor, batch: int, repeats: int) -> dict:
    """Median tokens/s of ``cfg`` generating for ``batch`` prompts at a time (``repeats`` timed calls)."""
    runs = [sample(model, cfg, batch_size=batch, prompt=prompts[:batch], seed=100 + r) for r in range(repeats + 1)]
    runs = runs[1:]  # the first call warms up
    secs = statistics.median(r.seconds for r in runs)
    return {"batch": batch, "tokens_per_s": batch * cfg.length / secs, "seconds": secs, "repeats": repeats,
            "forward_passes": runs[0].forward_passes, "positions_computed": runs[0].positions_computed}


def sampler_study(mdm_run: str | Path, ar_run: str | Path, data: str, judge: str | Path | None = None,
                  length: int = 64, prompt_length: int = 8, n_samples: int = 32,
                  tokens_per_step: tuple[int, ...] = (1, 2, 4, 8), tokenizer: str = "bytes", repeats: int = 3,
                  temperature: float = 1.0, threads: int | None = None) -> dict:
    """Quality (judge NLL, sample entropy) against speed (tokens/s at batch 1 and 16, passes per token) of every
    sampler of :func:`sampler_settings`, both models continuing the same held-out prompts."""
    mdm, mstate = load_run(mdm_run)
    ar, astate = load_run(ar_run)
    if kind_of(mdm) != "mdm" or kind_of(ar) != "ar":
        raise InputError("sampler_study needs a diffusion run (--mdm) and an AR run (--ar)")
    if mstate["tokenizer"] != astate["tokenizer"]:
        raise InputError(f"the two runs use different tokenizers ({mstate['tokenizer']} vs {astate['tokenizer']})")
    vocab = ar.config.vocab_size
    tokens, source, _ = eval_tokens(data, astate["tokenizer"], vocab, text_tokenizer(astate, tokenizer))
    need = prompt_length + length
    n_windows = len(tokens) // need
    if n_windows < n_samples:
        raise InputError(f"{data}: {len(tokens)} held-out tokens give {n_windows} windows of {need}, fewer than "
                         f"{n_samples} samples")
    windows = torch.from_numpy(tokens[: n_samples * need].astype(np.int64)).view(n_samples, need)
    prompts, real = windows[:, :prompt_length], windows[:, prompt_length:]
    judge_model = None if source is not None else (load_run(judge)[0] if judge else ar)
    reference = {"judge_nll": judge_nll(prompts, real, source, judge_model), "entropy": sample_entropy(real)}
    rows = []
    with torch_threads(threads):
        for setting in sampler_settings(length, tokens_per_step):
            label = setting.pop("label")
            model = ar if setting["method"] == "ar" else mdm
            cfg = SamplerConfig(length=length, temperature=temperature, **setting)
            outs = [sample(model, cfg, batch_size=min(16, n_samples - i), prompt=prompts[i:i + 16], seed=i)
                    for i in range(0, n_samples, 16)]
            toks = torch.cat([o.tokens for o in outs])
            rows.append({"label": label, "sampler": cfg.to_dict(),
                         "judge_nll": judge_nll(prompts, toks, source, judge_model), "entropy": sample_entropy(toks),
                         "passes_per_token": outs[0].forward_passes / length,
                         "positions_per_token": outs[0].positions_computed / (outs[0].tokens.numel()),
                         "speed": [time_sampler(model, cfg, prompts, b, repeats) for b in (1, 16) if b <= n_samples]})
            if source is not None and model is mdm and cfg.cache == "none":
                # the same sampler driven by the Bayes-optimal denoiser: the quality no training could beat
                exact = MarkovDenoiser(source, mdm.config.block_size)
                etoks = torch.cat([sample(exact, cfg, batch_size=min(16, n_samples - i), prompt=prompts[i:i + 16],
                                          seed=i).tokens for i in range(0, n_samples, 16)])
                rows[-1]["exact_denoiser"] = {"judge_nll": judge_nll(prompts, etoks, source, None),
                                              "entropy": sample_entropy(etoks)}
    return {"data": data, "length": length, "prompt_length": prompt_length, "samples": n_samples,
            "temperature": temperature, "judge": "true Markov source (exact)" if source is not None else
            f"AR model {judge or ar_run}", "reference": reference, "rows": rows,
            "models": {"mdm": {"run": str(mdm_run), "params": mdm.num_params(), "config": mdm.config.to_dict()},
                       "ar": {"run": str(ar_run), "params": ar.num_params(), "config": ar.config.to_dict()}},
            "machine": machine_info(), "threads": torch.get_num_threads() if threads is None else threads}


# ------------------------------------------------------------------------------------------- projection
def pass_costs(row: dict, cfg, batch: int, prompt_length: int, length: int, hw, calibrations: dict) -> float:
    """Seconds per generated token of one study row's sampler for model ``cfg`` (a cost-model
    ``TransformerConfig``) at ``batch`` on ``hw``, from the row's sampling schedule: AR = prefill + decode steps;
    diffusion = its passes, each a ``denoise`` step over the positions it computes."""
    from paradigmlab.costmodel.roofline import predict
    from paradigmlab.costmodel.transformer import decoder_costs

    s = row["sampler"]
    total = prompt_length + length
    if s["method"] == "ar":
        t = predict(decoder_costs(cfg, "prefill", batch, prompt_length), hw, calibrations["prefill"]).seconds
        for c in range(prompt_length, total - 1):
            t += predict(decoder_costs(cfg, "decode", batch, c), hw, calibrations["decode"]).seconds
        return t / length
    if s["method"] == "ancestral" or s.get("cache", "none") == "none":
        passes = round(row["passes_per_token"] * length)
        step = predict(decoder_costs(cfg, "denoise", batch, total), hw, calibrations["prefill"]).seconds
        return passes * step / length
    # LLaDA with the block cache: per block, the first step also recomputes the finished block before it
    block = s["block_length"]
    steps_per_block = math.ceil(block / s["tokens_per_step"])
    t = 0.0
    for b in range(length // block):
        lo = prompt_length + b * block
        first_from = prompt_length + (b - 1) * block if b else 0
        t += predict(decoder_costs(cfg, "denoise", batch, total - first_from, cached=first_from), hw,
                     calibrations["prefill"]).seconds
        t += (steps_per_block - 1) * predict(decoder_costs(cfg, "denoise", batch, total - lo, cached=lo), hw,
                                             calibrations["prefill"]).seconds
    return t / length


#: What the projection prices each sampler on: the trained shape itself and an 8B model of the LLaDA class.
PROJECTED_MODELS = ("trained", "llama-3-8b")
PROJECTION_PROXY = {"h200": "h100-sxm"}  # no bundled H200 prefill points: the H100 SXM fit, same compute peaks


def projection(study: dict, hardware: str = "h200", models: tuple[str, ...] = PROJECTED_MODELS,
               batches: tuple[int, ...] = (1, 16), long: tuple[int, int] | None = (128, 1024)) -> dict:
    """Seconds and joules per generated token of every sampler of ``study`` on ``hardware``, for each model
    (``trained`` = the study's own shapes, else a cost-model preset), from each sampler's measured schedule
    (passes per token, tokens per step, blocks). Diffusion passes and AR prefill are priced with the
    published-prefill calibration, AR decode with the published-decode one; energy = board power x time (both
    kinds at the same power). ``long`` = (prompt, length) adds the preset models at a LLaDA-like length, the
    schedules scaled (passes per token and tokens per step kept, blocks in proportion): a diffusion pass over
    a long sequence is compute-bound where a short one is not."""
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.transformer import from_looped, load_model
    from paradigmlab.costmodel.validation import prefill_calibration, validate

    hw = load_hardware(hardware)
    prefill_hw = PROJECTION_PROXY.get(hw.name, hw.name)
    decode_fit = validate()
    cal = {"prefill": prefill_calibration(prefill_hw), "decode": decode_fit["calibration"]}
    out = {"hardware": hw.name, "power_w": hw.power_w,
           "calibration": {"prefill": f"published prefill/TTFT fit of {prefill_hw}: {cal['prefill']}",
                           "decode": f"published batch-1 decode fit of {decode_fit['hardware']} (gpt-fast): "
                                     f"{cal['decode']}"},
           "models": {}}
    cases = [(name, study["prompt_length"], study["length"]) for name in models]
    if long is not None:
        cases += [(name, *long) for name in models if name != "trained"]
    out["lengths"] = {}
    for name, P, L in cases:
        key = name if (P, L) == (study["prompt_length"], study["length"]) else f"{name}, {P}+{L} tokens"
        out["lengths"][key] = [P, L]
        rows = []
        for row in study["rows"]:
            kind = "ar" if row["sampler"]["method"] == "ar" else "mdm"
            cfg = from_looped(study["models"][kind]["config"]) if name == "trained" else load_model(name)
            scaled = row
            if L != study["length"] and row["sampler"].get("block_length"):
                blk = row["sampler"]["block_length"] * L // study["length"]
                scaled = {**row, "sampler": {**row["sampler"], "block_length": blk}}
            per = {}
            for b in batches:
                sec = pass_costs(scaled, cfg, b, P, L, hw, cal)
                per[str(b)] = {"s_per_token": sec / b, "tokens_per_s": b / sec,
                               "joules_per_token": (hw.power_w or float("nan")) * sec / b}
            rows.append({"label": row["label"], "by_batch": per})
        ar_row = rows[0]
        for r in rows:
            r["speedup_vs_ar"] = {b: ar_row["by_batch"][b]["s_per_token"] / r["by_batch"][b]["s_per_token"]
                                  for b in r["by_batch"]}
        out["models"][key] = rows
    return out


def matched_quality(study: dict, tolerance: float = 0.05) -> list[dict]:
    """The diffusion settings whose samples are as good as AR's: judge NLL within ``tolerance`` of the AR
    samples' (relative) and sample entropy no more than ``tolerance`` below theirs (no repetition bought)."""
    ar = study["rows"][0]
    return [r for r in study["rows"][1:]
            if r["judge_nll"] <= ar["judge_nll"] * (1 + tolerance) and r["entropy"] >= ar["entropy"] * (1 - tolerance)]


__all__ = ["Corpus", "KINDS", "ROPE_BASE", "RunSpec", "SHAPES", "SHAPE_KEYS", "choose_shape", "eval_tokens",
           "evaluate_model", "evaluate_run", "generate_run", "judge_nll", "kind_of", "load_corpus", "load_run",
           "markov_size", "matched_quality", "measure_step", "model_config", "nelbo_against_exact", "objective_for",
           "paired_runs", "pass_costs", "plan", "projection", "sample_entropy", "sampler_config", "sampler_settings",
           "sampler_study", "text_tokenizer", "time_sampler", "tokenizer_of", "train_run"]
