"""Masked-diffusion language models on the looped Transformer's blocks, against autoregressive ones.

- :mod:`~paradigmlab.diffusion.mdm`: the denoiser (a bidirectional ``LoopedLM`` plus ``[MASK]``), the MDLM /
  LLaDA objective (continuous-time ELBO, 1/t weight, SUBS, antithetic t, variable lengths), the NELBO estimator,
  its exact enumeration and its split by mask rate, the exact denoiser of a Markov source (the floor a trained one
  is compared with), and the AR model's exact sliding-window NLL.
- :mod:`~paradigmlab.diffusion.sampling`: ancestral (MDLM, cached steps), LLaDA low-confidence remasking with
  semi-autoregressive blocks, the block KV cache over the finished prefix (Fast-dLLM), and AR decoding with a KV cache.
- :mod:`~paradigmlab.diffusion.experiments`: training on token files or built-in corpora within a time budget,
  evaluation, generation and the throughput-vs-quality study behind the report's verdict.
"""

from paradigmlab.diffusion.mdm import (MarkovDenoiser, MaskedDiffusion, ar_nll, denoiser_config, exact_nelbo,
                                       mask_id, masked_loss, nelbo, nelbo_by_time)
from paradigmlab.diffusion.sampling import SamplerConfig, Samples, sample

__all__ = ["MarkovDenoiser", "MaskedDiffusion", "SamplerConfig", "Samples", "ar_nll", "denoiser_config",
           "exact_nelbo", "mask_id", "masked_loss", "nelbo", "nelbo_by_time", "sample"]
