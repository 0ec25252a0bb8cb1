"""Prefill/decode disaggregation: TTFT on the prefill pool, TPOT on the decode pool, KV transfer between them.

Prefill processes the whole prompt at once (high arithmetic intensity,
compute-bound); decode produces one token per sequence per step (intensity
near 1-2 at batch 1, memory-bound). Serving them on separate pools lets each
run at its own best batch and parallelism; the price is shipping the
prompt's KV cache over the link between pools before the first decode step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from paradigmlab.costmodel.dtypes import bytes_per_element
from paradigmlab.costmodel.hardware import Hardware
from paradigmlab.costmodel.roofline import Calibration, predict
from paradigmlab.costmodel.transformer import TransformerConfig, decoder_costs


@dataclass(frozen=True)
class PDResult:
    """TTFT/TPOT split into their parts, with each phase's intensity and bound."""

    prefill_s: float
    kv_transfer_s: float
    ttft_s: float
    tpot_s: float
    kv_bytes: float
    prefill_intensity: float
    decode_intensity: float
    prefill_bound: str
    decode_bound: str
    prefill_ridge: float
    decode_ridge: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def kv_transfer_seconds(kv_bytes: float, link_gbs: float, latency_s: float = 0.0) -> float:
    """Time to move ``kv_bytes`` over a link of ``link_gbs`` GB/s with a fixed latency."""
    if link_gbs <= 0 or latency_s < 0:
        raise ValueError(f"link_gbs must be > 0 and latency_s >= 0, got {link_gbs}, {latency_s}")
    return latency_s + kv_bytes / (link_gbs * 1e9)


def disaggregated(
    cfg: TransformerConfig,
    prefill_hw: Hardware,
    decode_hw: Hardware,
    prompt_len: int,
    output_len: int,
    link_gbs: float,
    batch: int = 1,
    weight_dtype: str = "bf16",
    kv_dtype: str = "bf16",
    prefill_tp: int = 1,
    decode_tp: int = 1,
    link_latency_s: float = 0.0,
    prefill_calibration: Calibration | None = None,
    decode_calibration: Calibration | None = None,
) -> PDResult:
    """TTFT (prefill + KV transfer) and mean TPOT (decode at the mean context) for one request batch."""
    if output_len < 1:
        raise ValueError(f"output_len must be >= 1, got {output_len}")
    pre = decoder_costs(cfg, "prefill", batch, prompt_len, weight_dtype, kv_dtype, tp=prefill_tp)
    dec = decoder_costs(cfg, "decode", batch, prompt_len + output_len // 2, weight_dtype, kv_dtype, tp=decode_tp)
    p_pred = predict(pre, prefill_hw, prefill_calibration)
    d_pred = predict(dec, decode_hw, decode_calibration)
    kv = batch * prompt_len * cfg.kv_elements_per_token() * bytes_per_element(kv_dtype)
    transfer = kv_transfer_seconds(kv, link_gbs, link_latency_s)
    return PDResult(
        prefill_s=p_pred.seconds,
        kv_transfer_s=transfer,
        ttft_s=p_pred.seconds + transfer,
        tpot_s=d_pred.seconds,
        kv_bytes=kv,
        prefill_intensity=pre.intensity,
        decode_intensity=dec.intensity,
        prefill_bound=p_pred.bound,
        decode_bound=d_pred.bound,
        prefill_ridge=prefill_hw.ridge_point(weight_dtype),
        decode_ridge=decode_hw.ridge_point(weight_dtype),
    )
