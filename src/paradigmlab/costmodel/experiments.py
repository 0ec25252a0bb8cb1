"""The cost model's runs, shared by ``paradigmlab costmodel``, the report section and the benchmarks.

Each function computes and returns results (dicts of numbers, or the cost
model's own result objects); :mod:`paradigmlab.costmodel.cli` prints them and
:mod:`paradigmlab.costmodel.reproduce` renders them as Markdown and PNG.

- :func:`step_cost`: one decode/prefill/train step of a model on a device (``costmodel decode|prefill|train``).
- :func:`roofline_points`, :func:`report_roofline_points`: models placed on a roofline (``costmodel roofline``).
- :func:`tensor_file_sqnr`: SQNR of every format on a tensor file (``costmodel formats``).
- :func:`format_throughput`: format emulation speed next to ml_dtypes and gfloat (``costmodel bench``).
- :func:`paper_claims`, :func:`looped_and_pd`, :func:`energy_efficiency`, :func:`format_checks`,
  :func:`lm_formats`: the report section's experiments.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paradigmlab.costmodel.cnn import resnet50_costs
from paradigmlab.costmodel.hardware import Hardware, load_hardware
from paradigmlab.costmodel.roofline import Calibration, Prediction, predict
from paradigmlab.costmodel.transformer import (
    PHASES, Costs, TransformerConfig, decoder_costs, load_model, memory_bytes, resolve_weight_reuse,
)
from paradigmlab.validate import read_npz

# ---------------------------------------------------------------------------- one step of one model


@dataclass
class StepCost:
    """Cost of one step of ``model`` on ``hardware``: counts, predicted time, memory per device."""

    model: TransformerConfig
    hardware: Hardware
    costs: Costs
    prediction: Prediction
    weight_reuse_reason: str
    memory_bytes_per_device: float

    def to_dict(self, ops: bool = False) -> dict:
        """JSON-ready form; ``ops`` keeps the per-operation rows."""
        costs = self.costs.to_dict()
        if not ops:
            costs = {k: v for k, v in costs.items() if k != "ops"}
        return {"costs": costs, "prediction": self.prediction.to_dict(),
                "weight_reuse_reason": self.weight_reuse_reason, "memory_bytes_per_device": self.memory_bytes_per_device}


def calibration_for(hw: Hardware, calibrated: bool = False, bw_efficiency: float | None = None,
                    compute_efficiency: float | None = None, kernel_overhead_s: float | None = None,
                    phase: str = "decode") -> Calibration | None:
    """The efficiencies to predict with: fitted to the bundled measurements (``calibrated``), given, or none (ideal).

    ``calibrated`` fits to the measurements of ``phase``: prefill steps use the published prefill / TTFT
    points of ``hw`` (:func:`paradigmlab.costmodel.validation.prefill_calibration`); decode and train keep the
    batch-1 decode (gpt-fast) calibration.
    """
    from paradigmlab.costmodel.validation import prefill_calibration, validate

    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got '{phase}'")
    manual = {k: v for k, v in (("bw_efficiency", bw_efficiency), ("compute_efficiency", compute_efficiency),
                                ("kernel_overhead_s", kernel_overhead_s)) if v is not None}
    if calibrated:
        if manual:
            raise ValueError("give either --calibrated or --bw-eff/--compute-eff/--overhead-us, not both")
        if phase in ("prefill", "denoise"):  # a diffusion step is a full-sequence, compute-bound pass too
            return prefill_calibration(hw)
        result = validate()
        if result["hardware"] != hw.name:
            raise ValueError(f"no bundled measurements for '{hw.name}' (only {result['hardware']}); "
                             f"pass --bw-eff/--compute-eff/--overhead-us instead")
        return result["calibration"]
    return Calibration(**manual) if manual else None


def step_cost(model: str | Path, hardware: str | Path, phase: str = "decode", batch: int = 1, context: int = 512,
              weight_dtype: str = "bf16", kv_dtype: str | None = None, act_dtype: str = "bf16", tp: int = 1,
              weight_reuse: str = "auto", calibrated: bool = False, bw_efficiency: float | None = None,
              compute_efficiency: float | None = None, kernel_overhead_s: float | None = None) -> StepCost:
    """Cost of one ``phase`` step of a model preset/file on a hardware preset/file (see :func:`decoder_costs`)."""
    cfg, hw = load_model(model), load_hardware(hardware)
    reuse, reason = resolve_weight_reuse(cfg, hw.on_chip_bytes, weight_dtype, weight_reuse)
    costs = decoder_costs(cfg, phase, batch, context, weight_dtype, kv_dtype, act_dtype, tp, reuse)
    cal = calibration_for(hw, calibrated, bw_efficiency, compute_efficiency, kernel_overhead_s, phase)
    pred = predict(costs, hw, cal)
    ctx = context if phase != "train" else 0
    mem = memory_bytes(cfg, weight_dtype, kv_dtype or act_dtype, batch, ctx, tp)
    return StepCost(cfg, hw, costs, pred, reason, mem)


# ---------------------------------------------------------------------------- roofline


def roofline_points(models: list[str], dtype: str = "bf16") -> list[tuple[str, Costs]]:
    """Each model's decode (batch 1, context 512) and prefill (2048 tokens), plus ResNet-50 at batch 32."""
    pts = []
    for m in models:
        cfg = load_model(m)
        pts.append((f"{cfg.name} decode b1", decoder_costs(cfg, "decode", 1, 512, dtype)))
        pts.append((f"{cfg.name} prefill 2048", decoder_costs(cfg, "prefill", 1, 2048, dtype)))
    pts.append(("resnet-50 b32", resnet50_costs(32, dtype=dtype)))
    return pts


def report_roofline_points() -> list[tuple[str, Costs]]:
    """The report's roofline: decode at batch 1 of six models, the looped block kept on chip, batch 64, prefill, CNN."""
    pts = []
    for name in ("gpt2", "llama-2-7b", "llama-2-70b", "mixtral-8x7b", "deepseek-v3", "looped-gpt2-k1r12"):
        pts.append((f"{name} decode b1", decoder_costs(load_model(name), "decode", 1, 512, "bf16")))
    looped = load_model("looped-gpt2-k1r12")
    pts.append(("looped-gpt2-k1r12 decode b1, block on chip",
                decoder_costs(looped, "decode", 1, 512, "bf16", weight_reuse="per_step")))
    pts.append(("llama-2-7b decode b64", decoder_costs(load_model("llama-2-7b"), "decode", 64, 512, "bf16")))
    pts.append(("llama-2-7b prefill 2048", decoder_costs(load_model("llama-2-7b"), "prefill", 1, 2048, "bf16")))
    pts.append(("resnet-50 b1", resnet50_costs(1)))
    pts.append(("resnet-50 b32", resnet50_costs(32)))
    return pts


# ---------------------------------------------------------------------------- number formats on tensors


def load_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """Floating-point arrays from a .npy, .npz or .pt file (a tensor or a dict of tensors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tensor file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".pt", ".pth"):
        raise ValueError(f"{path}: unsupported tensor file type '{suffix}' (use .npy, .npz or .pt)")
    if suffix == ".npz":
        obj = read_npz(path, ".npz tensor file")
    else:
        try:
            obj = _read_tensor_file(path, suffix)
        except Exception as exc:  # noqa: BLE001 - numpy/torch raise many types for corrupt files
            raise ValueError(f"{path}: cannot read as {suffix}: {exc}") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a tensor or a dict of tensors, got {type(obj).__name__}")
    arrays = {}
    for key, val in obj.items():
        arr = val.detach().float().numpy() if hasattr(val, "detach") else np.asarray(val)
        if np.issubdtype(arr.dtype, np.floating) and arr.size:
            if not np.all(np.isfinite(arr)):  # an SQNR of NaN or inf data would be a number without meaning
                raise ValueError(f"{path}: tensor {key!r} holds NaN or inf")
            arrays[key] = arr
    if not arrays:
        raise ValueError(f"{path}: holds no non-empty floating-point tensors")
    return arrays


def _read_tensor_file(path: Path, suffix: str):
    if suffix == ".npy":
        return {path.stem: np.load(path, allow_pickle=False)}
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    return {path.stem: obj} if isinstance(obj, torch.Tensor) else obj


def tensor_file_sqnr(path: str | Path, formats: list[str] | None = None) -> dict[str, dict]:
    """Per tensor of the file: its shape and, per format, SQNR and max error (:func:`format_report`)."""
    from paradigmlab.costmodel.formats import format_report

    return {name: {"shape": list(a.shape), "rows": format_report(a, formats)} for name, a in load_tensors(path).items()}


def format_throughput(n: int = 1 << 20, gfloat_n: int = 32 * 64, repeats: int = 5, progress: bool = True) -> dict:
    """Quantise-dequantise speed of each format: ours next to ml_dtypes (C++ casts) and gfloat (scalar Python).

    ``n`` elements (float32, seed 0) per tensor; gfloat's slow MX quantiser gets the first ``gfloat_n``.
    Returns ``{"machine", "args", "rows"}``; each row has the medians of :func:`time_repeats`.
    """
    import ml_dtypes

    from paradigmlab.costmodel import formats as F
    from paradigmlab.measure import machine_info, time_repeats

    x = np.random.default_rng(0).standard_normal(n).astype(np.float32).reshape(-1, 1024)
    rows = []

    def add(impl: str, fmt: str, fn, size: int) -> None:
        t = time_repeats(fn, repeats=repeats)
        rows.append({"impl": impl, "format": fmt, "elements": size, **t, "melem_per_s": size / t["median_s"] / 1e6})
        if progress:
            print(f"{impl:10s} {fmt:12s} n={size:>8d} median {t['median_s'] * 1e3:8.2f} ms  "
                  f"{rows[-1]['melem_per_s']:8.1f} Melem/s", flush=True)

    for fmt, dt in (("fp8_e4m3", "float8_e4m3fn"), ("fp8_e5m2", "float8_e5m2"), ("fp4_e2m1", "float4_e2m1fn")):
        add("paradigmlab", fmt, lambda f=fmt: F.quantize_element(x, f), x.size)
        add("ml_dtypes", fmt, lambda d=dt: x.astype(getattr(ml_dtypes, d)).astype(np.float32), x.size)
    for fmt in ("mxfp8_e4m3", "mxfp4_e2m1", "mxint8"):
        add("paradigmlab", fmt, lambda f=fmt: F.quantize_mx(x, f), x.size)
    add("paradigmlab", "nvfp4", lambda: F.quantize_nvfp4(x), x.size)
    skipped = None
    try:
        import gfloat
        import gfloat.formats as gf

        small = x.reshape(-1)[:gfloat_n].astype(np.float64).reshape(-1, 32)
        for fmt, fi in (("mxfp8_e4m3", gf.format_info_mxfp8_e4m3), ("mxfp4_e2m1", gf.format_info_mxfp4_e2m1)):
            add("gfloat", fmt, lambda fi=fi: [gfloat.quantize_block(fi, b, gfloat.compute_scale_amax) for b in small],
                small.size)
    except ImportError as exc:
        skipped = f"gfloat not importable ({exc}); skipped"
        if progress:
            print(skipped)
    out = {"machine": machine_info(), "args": {"n": n, "gfloat_n": gfloat_n, "repeats": repeats}, "rows": rows}
    if skipped:
        out["skipped"] = skipped
    return out


# ---------------------------------------------------------------------------- the report's experiments


def paper_claims() -> dict:
    """Decode intensity of Llama-2-7B, ResNet-50 intensity, DeepSeek-V3's routed FFN fraction and distinct experts."""
    from paradigmlab.costmodel.moe import expected_distinct_experts, ffn_compute_fraction

    llama = load_model("llama-2-7b")
    ai = {
        "bf16 b1": decoder_costs(llama, "decode", 1, 512, "bf16").intensity,
        "fp8 b1": decoder_costs(llama, "decode", 1, 512, "fp8", act_dtype="bf16").intensity,
        "bf16 b8": decoder_costs(llama, "decode", 8, 512, "bf16").intensity,
        "bf16 b1 32k": decoder_costs(llama, "decode", 1, 32768, "bf16").intensity,
        "prefill 2048": decoder_costs(llama, "prefill", 1, 2048, "bf16").intensity,
    }
    cnn = {"b1 bf16": resnet50_costs(1).intensity, "b32 bf16": resnet50_costs(32).intensity,
           "b32 int8": resnet50_costs(32, dtype="w8a8").intensity}
    m = load_model("deepseek-v3").moe
    return {
        "decode_intensity": ai, "resnet50_intensity": cnn,
        "moe_fraction": ffn_compute_fraction(m.n_routed_experts, m.top_k),
        "moe_distinct": {t: expected_distinct_experts(m.n_routed_experts, m.top_k, t) for t in (1, 8, 32, 256)},
        "moe_top_k": m.top_k, "moe_experts": m.n_routed_experts,
    }


def looped_and_pd() -> dict:
    """Decode intensity of two looped GPT-2 presets with the block re-read per loop or kept on chip; a P/D split."""
    from paradigmlab.costmodel.pd import disaggregated

    looped = []
    for name in ("looped-gpt2-k1r12", "looped-gpt2-k3r12"):
        cfg = load_model(name)
        per_loop = decoder_costs(cfg, "decode", 1, 512, "bf16", weight_reuse="per_loop")
        per_step = decoder_costs(cfg, "decode", 1, 512, "bf16", weight_reuse="per_step")
        groups = per_step.by_group()
        block = ("attention", "ffn")
        looped.append({
            "name": name, "vocab_size": cfg.vocab_size, "d_model": cfg.d_model,
            "per_loop": per_loop.intensity, "per_step": per_step.intensity,
            "block_intensity": sum(groups[g]["flops"] for g in block) / sum(groups[g]["bytes"] for g in block),
            "fits": {hw: resolve_weight_reuse(cfg, load_hardware(hw).on_chip_bytes, "bf16")[1]
                     for hw in ("a100-80gb", "h100-sxm", "mi300x")},
        })
    pd = disaggregated(load_model("llama-3-70b"), load_hardware("h100-sxm"), load_hardware("h200"), 2048, 256,
                       link_gbs=50.0, weight_dtype="fp8", kv_dtype="bf16", prefill_tp=4, decode_tp=4)
    return {"looped": looped, "pd": pd}


def energy_efficiency() -> dict:
    """INT8 TOPS/W of every hardware preset that states one (with its power level), and the p-bit FPGA preset."""
    from paradigmlab.costmodel.presets import preset_names

    rows = []
    for name in preset_names("hardware"):
        hw = load_hardware(name)
        tpw = hw.tops_per_watt("int8")
        if tpw is not None:
            rows.append((name, tpw, hw.power_level))
    return {"int8_tops_per_watt": {n: t for n, t, _ in rows}, "power_level": {n: lvl for n, _, lvl in rows},
            "pbit_fpga": load_hardware("pbit-fpga")}


def format_checks() -> dict:
    """Bit-exactness against ml_dtypes / gfloat / the NVFP4 composition, and SQNR on Gaussian and Student-t(3)."""
    from paradigmlab.costmodel.formats import format_report
    from paradigmlab.costmodel.formats_reference import (
        gfloat_mx_mismatches, ml_dtypes_mismatches, nvfp4_mismatches, random_test_tensor,
    )

    rng = np.random.default_rng(0)
    x = random_test_tensor(rng)
    mism = ml_dtypes_mismatches(x)
    gfloat_error = None
    try:
        mism.update({f"{k} vs gfloat": v for k, v in gfloat_mx_mismatches(x).items()})
    except ImportError as exc:
        gfloat_error = str(exc)
    mism["nvfp4 vs ml_dtypes composition"] = nvfp4_mismatches(x)
    w = rng.standard_normal((256, 1024))
    t = rng.standard_t(3, (256, 1024))
    return {"shape": tuple(x.shape), "format_mismatches": mism, "gfloat_error": gfloat_error,
            "sqnr_gaussian": {r["format"]: r["sqnr_db"] for r in format_report(w)},
            "sqnr_student_t3": {r["format"]: r["sqnr_db"] for r in format_report(t)}}


def lm_formats(out_dir: Path, quick: bool) -> dict:
    """Validation-loss change per format of a small looped LM trained here (else a digits MLP, saying why).

    Returns ``{"rows": {"weights", "weights_and_activations"}, "model": "looped" | "digits_mlp", ...}`` with
    what the section's prose states about the run.
    """
    try:
        return looped_lm_formats(out_dir, quick)
    except Exception as exc:  # noqa: BLE001 - another package's API; fall back and say why
        res = digits_mlp_formats()
        res["fallback_reason"] = f"{type(exc).__name__}: {exc}"
        return res


def looped_lm_formats(out_dir: Path, quick: bool) -> dict:
    """Train (or resume) a 1x4 looped GPT-2 LM on Shakespeare into ``out_dir/costmodel_looped_lm``; loss per format."""
    import torch

    from paradigmlab.costmodel.lmquant import ACT_FORMATS, WEIGHT_FORMATS, checkpoint_format_table
    from paradigmlab.data.text import load_text_data
    from paradigmlab.looped import LoopedConfig
    from paradigmlab.looped.train import TrainConfig, train

    steps = 600 if quick else 3000
    max_chars = 1_000_000 if quick else None
    cfg = LoopedConfig(block="gpt2", vocab_size=256, block_size=64 if quick else 128, d_model=96 if quick else 128,
                       n_head=4, layers=1, loops=4)
    ckpt_dir = Path(out_dir) / "costmodel_looped_lm"
    tc = TrainConfig(steps=steps, batch_size=16, lr=3e-3, warmup_steps=30, eval_every=steps // 4,
                     eval_batches=8 if quick else 16, device="cpu", out_dir=str(ckpt_dir))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small only loses to thread oversubscription on a shared 2-core box
    try:
        t0 = time.perf_counter()
        train(cfg, tc, load_text_data("shakespeare", tokenizer="bytes", seed=tc.seed, max_chars=max_chars))
        train_s = time.perf_counter() - t0
        table = checkpoint_format_table(ckpt_dir, "shakespeare", max_chars, weight_formats=WEIGHT_FORMATS,
                                        act_formats=ACT_FORMATS)
    finally:
        torch.set_num_threads(threads)
    return {"model": "looped", "rows": {k: table[k] for k in ("weights", "weights_and_activations")},
            "d_model": cfg.d_model, "params": table["params"], "steps": table["steps"], "train_s": train_s,
            "val_curve": table["val_curve"], "checkpoint": ckpt_dir.name, "eval": table["eval"]}


def digits_mlp_formats() -> dict:
    """Fallback experiment: a small MLP trained on scikit-learn's bundled digits, test loss per format."""
    import torch
    from sklearn.datasets import load_digits

    from paradigmlab.costmodel.lmquant import ACT_FORMATS, WEIGHT_FORMATS
    from paradigmlab.costmodel.torchquant import format_loss_table

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(y), generator=g)
    tr, te = perm[:1400], perm[1400:]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[tr]), y[tr]).backward()
        opt.step()

    def ev(m: torch.nn.Module) -> float:
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(m(x[te]), y[te]))

    rows = {"weights": format_loss_table(model, ev, WEIGHT_FORMATS),
            "weights_and_activations": format_loss_table(model, ev, ACT_FORMATS, activations=True)}
    return {"model": "digits_mlp", "rows": rows, "test_images": len(te)}


def json_ready(obj: Any) -> Any:
    """``obj`` with the cost model's dataclasses (Calibration, Hardware) turned into dicts, for ``--json``."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return json_ready(asdict(obj))
    return obj


# ---------------------------------------------------------------------------- clusters (costmodel.cluster)

#: The cluster a bare GPU name stands for in ``costmodel plan|serve --hardware``.
DEFAULT_CLUSTER = {"a100-80gb": "dgx-a100-superpod", "h100-sxm": "dgx-h100-superpod", "h800": "deepseek-h800",
                   "gb200": "gb200-nvl72"}


def cluster_for(hardware: str | Path):
    """A cluster preset or file, or the default cluster of a GPU preset (``h100-sxm`` -> ``dgx-h100-superpod``)."""
    from paradigmlab.costmodel.cluster.network import load_cluster
    from paradigmlab.costmodel.presets import preset_names

    name = str(hardware)
    if name.lower() in DEFAULT_CLUSTER:
        return load_cluster(DEFAULT_CLUSTER[name.lower()])
    if name.lower() in preset_names("hardware"):
        raise ValueError(f"GPU '{name}' has no default cluster; give a cluster preset "
                         f"({', '.join(preset_names('cluster'))}) or a cluster .json/.toml file")
    return load_cluster(hardware)


def default_global_batch(seq_len: int, tokens: int = 1 << 22) -> int:
    """Sequences in a ~4M-token global batch (Llama 3's first stage), at least one."""
    return max(1, tokens // seq_len)


def training_plan(model: str | Path, gpus: int, hardware: str | Path, seq_len: int = 4096,
                  global_batch: int | None = None, dtype: str = "bf16", plan: dict | None = None,
                  top: int = 10) -> dict:
    """``costmodel plan``: price one given plan (``plan`` = ParallelPlan fields) or search for the fastest."""
    from paradigmlab.costmodel.cluster.planner import search
    from paradigmlab.costmodel.cluster.training import ParallelPlan, train_step
    from paradigmlab.costmodel.cluster.validation import cluster_calibration

    cfg, cluster = load_model(model), cluster_for(hardware)
    gb = global_batch or default_global_batch(seq_len)
    cal, note = cluster_calibration(cluster.gpu, dtype)
    out = {"model": cfg.name, "params": cfg.n_params(), "cluster": cluster.to_dict(), "gpus": gpus, "seq_len": seq_len,
           "global_batch": gb, "dtype": dtype, "calibration": note}
    if plan:
        step = train_step(cfg, ParallelPlan(dtype=dtype, **plan), cluster, seq_len, gb, cal, gpus=gpus)
        return {**out, "mode": "evaluate", "step": step.to_dict(), "_steps": [step]}
    res = search(cfg, cluster, gpus, seq_len, gb, cal, dtype, top=top)
    return {**out, "mode": "search", **res.to_dict(), "_steps": res.top}


def deadline_plan(model: str | Path, hardware: str | Path, tokens: float, deadline_days: float,
                  gpu_counts: list[int], seq_len: int = 4096, global_batch: int | None = None,
                  dtype: str = "bf16") -> dict:
    """``costmodel plan --deadline-days``: the cheapest GPU count (and its fastest plan) that meets the deadline."""
    from paradigmlab.costmodel.cluster.planner import cheapest_for_deadline
    from paradigmlab.costmodel.cluster.validation import cluster_calibration

    cfg, cluster = load_model(model), cluster_for(hardware)
    cal, note = cluster_calibration(cluster.gpu, dtype)
    res = cheapest_for_deadline(cfg, cluster, tokens, deadline_days, sorted(gpu_counts), seq_len,
                                global_batch or default_global_batch(seq_len), cal, dtype)
    return {"model": cfg.name, "cluster": cluster.name, "calibration": note, **res}


def serving_plan(model: str | Path, hardware: str | Path, rate_rps: float, prompt: int, output: int,
                 ttft_s: float, tpot_s: float, weight_dtype: str = "bf16", kv_dtype: str = "bf16"):
    """``costmodel serve``: P/D pools for a request rate, with each phase's bundled calibration where one exists."""
    from paradigmlab.costmodel.cluster.serving import serve_plan

    cfg, cluster = load_model(model), cluster_for(hardware)
    hw = cluster.hardware
    cals, notes = {}, []
    for phase in ("prefill", "decode"):
        try:
            cals[phase] = calibration_for(hw, calibrated=True, phase=phase)
            notes.append(f"{phase}: fitted to bundled {hw.name} measurements")
        except ValueError:
            # Borrow the A100 gpt-fast decode fit (HBM efficiency and per-kernel overhead carry over best).
            cals[phase] = calibration_for(load_hardware("a100-80gb"), calibrated=True, phase=phase)
            notes.append(f"{phase}: borrowed a100-80gb fit (no bundled {hw.name} {phase} measurements)")
    return serve_plan(cfg, cluster, rate_rps, prompt, output, ttft_s, tpot_s, weight_dtype, kv_dtype,
                      cals["prefill"], cals["decode"], "; ".join(notes))


def checkpointing(model: str | Path, hardware: str | Path, gpus: int, storage_gbs: float | None = None,
                  gpu_mtbf_hours: float | None = None, asynchronous: bool = True) -> dict:
    """Checkpoint size, write time and the Young/Daly interval on a cluster (its storage and MTBF unless given)."""
    from paradigmlab.costmodel.cluster.storage import checkpoint_plan

    cfg, cluster = load_model(model), cluster_for(hardware)
    storage = storage_gbs or cluster.storage_write_gbs
    mtbf = gpu_mtbf_hours or cluster.gpu_mtbf_hours
    if storage is None or mtbf is None:
        raise ValueError(f"cluster '{cluster.name}' states no storage bandwidth / GPU MTBF: give --storage-gbs and "
                         f"--gpu-mtbf-hours")
    res = checkpoint_plan(cfg, gpus, storage, mtbf, asynchronous)
    return {"model": cfg.name, "cluster": cluster.name, "gpus": gpus, "storage_write_gbs": storage,
            "gpu_mtbf_hours": mtbf, **res.to_dict()}


def scale_up_study(model: str, gpus: int, seq_len: int, global_batch: int, dtype: str = "bf16",
                   sizes: tuple[int, ...] = (8, 16, 32, 72), base: str = "dgx-h100-superpod",
                   fixed: dict | None = None) -> list[dict]:
    """The paper's case for scale-up domains: the best plan (and a ``fixed`` one) as the NVLink domain grows,
    GPUs and NICs unchanged."""
    from dataclasses import replace

    from paradigmlab.costmodel.cluster.network import load_cluster
    from paradigmlab.costmodel.cluster.planner import search
    from paradigmlab.costmodel.cluster.training import ParallelPlan, train_step
    from paradigmlab.costmodel.cluster.validation import cluster_calibration

    cluster = load_cluster(base)
    cal, _ = cluster_calibration(cluster.gpu, dtype)
    cfg = load_model(model)
    rows = []
    for size in sizes:
        c = replace(cluster, scale_up_size=size)
        res = search(cfg, c, gpus, seq_len, global_batch, cal, dtype, top=1)
        rows.append({"scale_up_size": size, "which": "best plan", **_study_row(res.best), "evaluated": res.evaluated})
        if fixed is not None:
            step = train_step(cfg, ParallelPlan(dtype=dtype, **fixed), c, seq_len, global_batch, cal, gpus=gpus)
            rows.append({"scale_up_size": size, "which": "fixed plan", **_study_row(step)})
    return rows


def _study_row(step) -> dict:
    return {"plan": step.plan.label(), "step_s": step.seconds, "mfu": step.mfu, "exposed_comm_s": step.exposed_comm_s,
            "ep_comm_s": step.comm_s["ep"], "tp_comm_s": step.comm_s["tp"], "bubble_s": step.bubble_s,
            "feasible": step.feasible}


def cluster_report(out_dir: Path) -> dict:
    """The report's cluster subsection: validation, best plans (70B dense and DeepSeek-V3 on 1,024 and 16,384 H100),
    the scale-up study, a serving and a checkpoint example, with the breakdown and validation PNGs."""
    from paradigmlab.costmodel.cluster.planner import plot_breakdown
    from paradigmlab.costmodel.cluster.validation import validate_cluster

    val = validate_cluster()
    plans = []
    figs = []
    for model, seq, gb, dtype in (("llama-3-70b", 8192, 2048, "bf16"), ("deepseek-v3", 4096, 15360, "fp8")):
        for gpus in (1024, 16384):
            res = training_plan(model, gpus, "h100-sxm", seq, gb, dtype, top=5)
            steps = res.pop("_steps")
            plans.append({k: res[k] for k in ("model", "gpus", "seq_len", "global_batch", "dtype", "evaluated",
                                              "feasible", "plans_per_s", "best", "calibration")})
            if gpus == 1024:
                fig = plot_breakdown(steps, Path(out_dir) / f"cluster_breakdown_{model}.png",
                                     f"{model} on {gpus} H100 (DGX SuperPOD), seq {seq}, batch {gb}: 5 fastest plans")
                figs.append(fig.name)
    figs.append(plot_validation(val, Path(out_dir) / "cluster_validation.png").name)
    scale = scale_up_study("deepseek-v3", 1024, 4096, 15360, "fp8",
                           fixed=dict(tp=1, pp=16, dp=64, ep=64, schedule="1f1b", uneven_stages=True, recompute="full"))
    serve = serving_plan("llama-3-70b", "h100-sxm", 20.0, 2048, 256, 1.0, 0.05, "fp8").to_dict()
    ckpt = checkpointing("llama-3.1-405b", "meta-h100-roce", 16384)
    return {"validation": val, "plans": plans, "scale_up": scale, "serving": serve, "checkpoint": ckpt, "figures": figs}


def plot_validation(result: dict, path: Path) -> Path:
    """Predicted against measured step time, calibration and held-out rows marked, the +-15 % band drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from paradigmlab.report import save_figure

    fig, ax = plt.subplots(figsize=(6, 5.2))
    groups = sorted({r["group"] for r in result["rows"]})
    for i, g in enumerate(groups):
        for split, marker in (("calibration", "s"), ("held-out", "o")):
            rows = [r for r in result["rows"] if r["group"] == g and r["split"] == split]
            if rows:
                ax.loglog([r["measured_s"] for r in rows], [r["predicted_s"] for r in rows], marker, color=f"C{i}",
                          mfc="none" if split == "calibration" else f"C{i}", label=f"{g} {split}")
    lo = min(min(r["measured_s"], r["predicted_s"]) for r in result["rows"]) / 1.5
    hi = max(max(r["measured_s"], r["predicted_s"]) for r in result["rows"]) * 1.5
    xs = np.array([lo, hi])
    ax.plot(xs, xs, "k-", lw=1)
    ax.fill_between(xs, xs * (1 - result["tolerance"]), xs * (1 + result["tolerance"]), color="grey", alpha=0.2,
                    label=f"+-{result['tolerance']:.0%}")
    ax.set_xlabel("published seconds per step")
    ax.set_ylabel("predicted seconds per step")
    ax.set_title("Cluster model vs published training runs", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, path)
