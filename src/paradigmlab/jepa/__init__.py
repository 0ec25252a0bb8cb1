"""Joint-embedding predictive architectures (paper 3.2, ref. 18): I-JEPA at laptop scale -- ViT context encoder,
EMA target encoder, narrow predictor, multi-block masks -- with the baselines it is measured against (a masked
autoencoder, a SimCLR contrastive encoder, a supervised ceiling), frozen-feature probes, the collapse monitor,
the cost model's training FLOPs and the energy-based reading of the predictor's distance."""

from paradigmlab.jepa.masks import MultiBlockMask, augment, random_mask
from paradigmlab.jepa.model import IJEPA, MAE, METHODS, Encoder, Predictor, SimCLR, Supervised, ViTConfig, patchify

__all__ = ["Encoder", "IJEPA", "MAE", "METHODS", "MultiBlockMask", "Predictor", "SimCLR", "Supervised", "ViTConfig",
           "augment", "patchify", "random_mask"]
