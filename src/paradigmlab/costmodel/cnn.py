"""ResNet-50 (torchvision v1.5 layout) costed like the Transformers, for the paper's CNN comparison.

Each convolution reads its weights once per batch and its input/output
feature maps once; batch norm is folded into the convolution at inference
(its parameters are still counted in :func:`resnet50_params`). The result is a
:class:`~paradigmlab.costmodel.transformer.Costs` so it can go on the same
roofline.
"""

from __future__ import annotations

from paradigmlab.costmodel.dtypes import bytes_per_element
from paradigmlab.costmodel.transformer import Costs, Op

_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # width, blocks, stride of first block
_EXPANSION = 4


def _conv_shapes(image: int) -> list[tuple[str, int, int, int, int, int]]:
    """(name, c_in, c_out, kernel, h_in, h_out) for every conv and the final FC (as a 1x1 conv)."""
    out = [("conv1", 3, 64, 7, image, (image + 1) // 2)]
    h = (out[0][5] + 1) // 2  # 3x3 max-pool, stride 2
    c_in = 64
    for s, (width, blocks, stride) in enumerate(_STAGES, start=1):
        for b in range(blocks):
            st = stride if b == 0 else 1
            h_out = (h + st - 1) // st
            p = f"layer{s}.{b}"
            out += [(f"{p}.conv1", c_in, width, 1, h, h),
                    (f"{p}.conv2", width, width, 3, h, h_out),
                    (f"{p}.conv3", width, width * _EXPANSION, 1, h_out, h_out)]
            if b == 0:
                out.append((f"{p}.downsample", c_in, width * _EXPANSION, 1, h, h_out))
            c_in, h = width * _EXPANSION, h_out
    out.append(("fc", c_in, 1000, 1, 1, 1))
    return out


def resnet50_params() -> int:
    """Trainable parameters of torchvision's ResNet-50 (conv + BN affine + FC with bias)."""
    total = 0
    for name, c_in, c_out, k, _, _ in _conv_shapes(224):
        total += c_in * c_out * k * k
        total += c_out if name == "fc" else 2 * c_out  # FC bias, or BN weight and bias
    return total


def resnet50_costs(batch: int = 1, image: int = 224, dtype: str = "bf16") -> Costs:
    """Inference cost of ResNet-50 on ``batch`` images of ``image`` x ``image`` pixels."""
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    if not isinstance(image, int) or image < 32:
        raise ValueError(f"image must be an integer >= 32, got {image!r}")
    b = bytes_per_element(dtype)
    costs = Costs("resnet-50", "inference", batch, image, batch, dtype, dtype, dtype, 1, "n/a")
    for name, c_in, c_out, k, h_in, h_out in _conv_shapes(image):
        if name == "fc":
            h_in = h_out = 1  # after global average pooling
        costs.ops.append(Op(
            name, "fc" if name == "fc" else "conv",
            flops=2.0 * batch * h_out * h_out * c_out * c_in * k * k,
            weight_bytes=c_in * c_out * k * k * b,
            act_bytes=batch * (h_in * h_in * c_in + h_out * h_out * c_out) * b,
        ))
    return costs
