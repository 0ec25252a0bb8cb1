"""Cost model: FLOPs, bytes and arithmetic intensity; roofline on hardware presets; number formats.

Checks the paper's quantitative claims (decode intensity ~2, CNNs in the
hundreds, MoE FFN compute 1/32, P/D disaggregation, looped weight reuse,
12.31 TOPS/W CIM) for any model and device, and lets every paradigmlab run
state its own cost (:func:`cost_summary`).

    >>> from paradigmlab.costmodel import decoder_costs, load_model, load_hardware, predict
    >>> c = decoder_costs(load_model("llama-2-7b"), "decode", batch=1, context=512)
    >>> round(c.intensity, 1)
    1.0
"""

from paradigmlab.costmodel.cnn import resnet50_costs
from paradigmlab.costmodel.formats import quantize, sqnr_db
from paradigmlab.costmodel.hardware import Hardware, load_hardware
from paradigmlab.costmodel.moe import expected_distinct_experts
from paradigmlab.costmodel.pd import disaggregated
from paradigmlab.costmodel.roofline import Calibration, cost_summary, fit_calibration, predict
from paradigmlab.costmodel.transformer import Costs, TransformerConfig, decoder_costs, load_model

__all__ = [
    "Calibration", "Costs", "Hardware", "TransformerConfig", "cost_summary", "decoder_costs", "disaggregated",
    "expected_distinct_experts", "fit_calibration", "load_hardware", "load_model", "predict", "quantize",
    "resnet50_costs", "sqnr_db",
]
