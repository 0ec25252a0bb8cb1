"""What each method's training batch is made of: masks, views, patches -- the collate functions.

:class:`MultiBlockMask` is I-JEPA's multi-block masking (facebookresearch/ijepa ``src/masks/multiblock.py``):
per *batch* one target block size (scale 0.15-0.2 of the patches, aspect ratio 0.75-1.5) and one context block
size (scale 0.85-1.0, square) are drawn; per *sample* four target blocks are placed at random and one context
block, from which the target patches are removed (a placement that leaves fewer than ``min_keep`` patches is
redrawn, and after 20 failures one target's exclusion is dropped, as the reference does); finally every mask is
cut to the shortest of its kind in the batch so that they stack. On 1-D signals a block is a run of patches.

A collate maps a batch of inputs ``(x, y)`` to the arguments of a model's ``forward`` (:mod:`.model`). The
trainer calls it on the whole (global) batch under its seeded RNG before sharding the batch over DDP ranks, so a
run draws the same masks with any number of processes, and a resumed run the same masks as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from paradigmlab.jepa.model import patchify
from paradigmlab.validate import InputError, integer, number


def scale_range(value, name: str) -> tuple[float, float]:
    """A ``(low, high)`` pair with ``0 < low <= high <= 1``."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a pair (low, high), got {value!r}") from None
    lo, hi = number(lo, f"{name} low"), number(hi, f"{name} high")
    if not 0.0 < lo <= hi <= 1.0:
        raise InputError(f"{name} must satisfy 0 < low <= high <= 1 (a fraction of the patches), got ({lo}, {hi})")
    return lo, hi


def torch_numpy_rng() -> np.random.Generator:
    """A numpy generator seeded from torch's global RNG (which the trainer seeds per step): numpy's scalar draws
    are ~10x faster than torch's for the many small placements, and the run stays a function of the seed."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))


@dataclass
class MultiBlockMask:
    """I-JEPA's multi-block masks on a patch ``grid`` ``(H, W)`` or ``(L,)``."""

    grid: tuple
    num_targets: int = 4
    target_scale: tuple = (0.15, 0.2)
    target_aspect: tuple = (0.75, 1.5)
    context_scale: tuple = (0.85, 1.0)
    min_keep: int = 4
    allow_overlap: bool = False
    tries: int = 20

    def __post_init__(self) -> None:
        self.grid = tuple(int(g) for g in self.grid)
        if len(self.grid) not in (1, 2) or min(self.grid) < 1:
            raise InputError(f"grid must be (H, W) or (L,) patches, got {self.grid!r}")
        integer(self.num_targets, "num_targets", min=1)
        integer(self.min_keep, "min_keep", min=0, max=math.prod(self.grid) - 1)
        integer(self.tries, "tries", min=1)
        self.target_scale = scale_range(self.target_scale, "target_scale")
        self.context_scale = scale_range(self.context_scale, "context_scale")
        lo, hi = (number(v, "target_aspect") for v in self.target_aspect)
        if not 0 < lo <= hi:
            raise InputError(f"target_aspect must satisfy 0 < low <= high, got {self.target_aspect!r}")
        self.target_aspect = (lo, hi)

    def block_size(self, rng: np.random.Generator, scale: tuple, aspect: tuple) -> tuple:
        """A block's (h, w) (or (length,)) for a random scale and aspect ratio, smaller than the grid."""
        n = math.prod(self.grid)
        keep = int(n * (scale[0] + rng.random() * (scale[1] - scale[0])))
        if len(self.grid) == 1:
            return (max(1, min(keep, self.grid[0] - 1)),)
        ar = aspect[0] + rng.random() * (aspect[1] - aspect[0])
        h, w = int(round(math.sqrt(keep * ar))), int(round(math.sqrt(keep / ar)))
        return max(1, min(h, self.grid[0] - 1)), max(1, min(w, self.grid[1] - 1))

    def place(self, rng: np.random.Generator, size: tuple, allowed: list[np.ndarray] | None) -> np.ndarray:
        """Indices of one block of ``size`` at a random position, minus the patches outside ``allowed``."""
        if math.prod(size) <= self.min_keep:
            one_d = len(self.grid) == 1  # "a 1-patch block on the 10-patch grid", "a 1x2 block on the 7x7 patch grid"
            raise InputError(f"a {'x'.join(map(str, size))}{'-patch' if one_d else ''} block on the "
                             f"{'x'.join(map(str, self.grid))}{'-patch' if one_d else ' patch'} grid "
                             f"can never keep more than min_keep={self.min_keep} patches: raise the block's scale or "
                             "lower min_keep")
        timeout, dropped = self.tries, 0
        while True:
            mask = np.zeros(self.grid, dtype=bool)
            corner = [int(rng.integers(0, g - s + 1)) for g, s in zip(self.grid, size)]
            mask[tuple(slice(c, c + s) for c, s in zip(corner, size))] = True
            if allowed:
                for region in allowed[:max(len(allowed) - dropped, 0)]:
                    mask &= region
            index = np.flatnonzero(mask)
            if len(index) > self.min_keep:
                return index
            timeout -= 1
            if timeout == 0:  # the reference's way out: give up one exclusion after `tries` failed placements
                dropped, timeout = dropped + 1, self.tries

    def sample(self, batch: int, rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(context (B, Kc), targets (B, M, Kt))`` long tensors of patch indices for ``batch`` samples."""
        integer(batch, "batch", min=1)
        rng = rng or torch_numpy_rng()
        t_size = self.block_size(rng, self.target_scale, self.target_aspect)
        c_size = self.block_size(rng, self.context_scale, (1.0, 1.0))
        contexts, targets = [], []
        for _ in range(batch):
            blocks, allowed = [], []
            for _ in range(self.num_targets):
                idx = self.place(rng, t_size, None)
                blocks.append(idx)
                region = np.ones(self.grid, dtype=bool)
                region.flat[idx] = False
                allowed.append(region)
            targets.append(blocks)
            contexts.append(self.place(rng, c_size, None if self.allow_overlap else allowed))
        kt = min(len(b) for blocks in targets for b in blocks)
        kc = min(len(c) for c in contexts)
        ctx = torch.from_numpy(np.stack([c[:kc] for c in contexts]))
        tgt = torch.from_numpy(np.stack([np.stack([b[:kt] for b in blocks]) for blocks in targets]))
        return ctx.long(), tgt.long()

    def to_dict(self) -> dict:
        return {**asdict(self), "grid": list(self.grid)}


def random_mask(batch: int, num_patches: int, ratio: float, rng: np.random.Generator | None = None):
    """MAE's masking: per sample a uniformly random ``ratio`` of the patches hidden -> ``(visible, masked)``."""
    number(ratio, "mask ratio", min=0.0, max=1.0)
    hidden = int(round(num_patches * ratio))
    if not 0 < hidden < num_patches:
        raise InputError(f"mask ratio {ratio} hides {hidden} of {num_patches} patches: it must hide some, not all")
    rng = rng or torch_numpy_rng()
    order = torch.from_numpy(np.argsort(rng.random((batch, num_patches)), axis=1))
    return order[:, hidden:].sort(1).values.long(), order[:, :hidden].sort(1).values.long()


def augment(x: torch.Tensor, crop_scale: tuple = (0.35, 1.0), flip: bool = False, jitter: float = 0.4,
            noise: float = 0.05) -> torch.Tensor:
    """SimCLR's views for small greyscale inputs: a random resized crop (area ``crop_scale``, aspect 3/4-4/3),
    optional horizontal flip, brightness/contrast jitter and Gaussian noise; images (B, C, H, W) or signals
    (B, C, L), all with torch's RNG (batched: one ``grid_sample``)."""
    one_d = x.dim() == 3
    img = x[:, :, None, :] if one_d else x
    b = img.shape[0]
    area = crop_scale[0] + torch.rand(b) * (crop_scale[1] - crop_scale[0])
    if one_d:
        sx, sy = area, torch.ones(b)
    else:
        log_ar = (torch.rand(b) * 2 - 1) * math.log(4 / 3)
        sx, sy = (area * log_ar.exp()).sqrt().clamp(max=1), (area / log_ar.exp()).sqrt().clamp(max=1)
    tx, ty = (torch.rand(b) * 2 - 1) * (1 - sx), (torch.rand(b) * 2 - 1) * (1 - sy)
    if flip:
        sx = sx * torch.where(torch.rand(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx, tx, sy, ty
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    out = F.grid_sample(img, grid.to(img.dtype), mode="bilinear", padding_mode="border", align_corners=False)
    shape = (b,) + (1,) * (out.dim() - 1)
    mean = out.mean(dim=tuple(range(1, out.dim())), keepdim=True)
    contrast = 1 + (torch.rand(shape) * 2 - 1) * jitter
    brightness = (torch.rand(shape) * 2 - 1) * jitter * 0.5
    out = (out - mean) * contrast + mean + brightness + noise * torch.randn_like(out)
    return out[:, :, 0, :] if one_d else out


class JEPACollate:
    """``(x, y) -> (patches, context, targets)``."""

    def __init__(self, patch: int, masks: MultiBlockMask) -> None:
        self.patch, self.masks = patch, masks

    def __call__(self, batch):
        x = batch[0]
        return (patchify(x, self.patch), *self.masks.sample(x.shape[0]))


class MAECollate:
    """``(x, y) -> (patches, visible, masked)`` with MAE's random masking (ratio 0.75 by default)."""

    def __init__(self, patch: int, num_patches: int, ratio: float = 0.75) -> None:
        random_mask(1, num_patches, ratio, np.random.default_rng(0))  # validates the ratio now
        self.patch, self.num_patches, self.ratio = patch, num_patches, ratio

    def __call__(self, batch):
        x = batch[0]
        return (patchify(x, self.patch), *random_mask(x.shape[0], self.num_patches, self.ratio))


class SimCLRCollate:
    """``(x, y) -> (view1 patches, view2 patches)``."""

    def __init__(self, patch: int, flip: bool = False) -> None:
        self.patch, self.flip = patch, flip

    def __call__(self, batch):
        x = batch[0]
        return patchify(augment(x, flip=self.flip), self.patch), patchify(augment(x, flip=self.flip), self.patch)


class SupervisedCollate:
    """``(x, y) -> (patches, y)``."""

    def __init__(self, patch: int) -> None:
        self.patch = patch

    def __call__(self, batch):
        return patchify(batch[0], self.patch), batch[1]


__all__ = ["JEPACollate", "MAECollate", "MultiBlockMask", "SimCLRCollate", "SupervisedCollate", "augment",
           "random_mask", "scale_range", "torch_numpy_rng"]
