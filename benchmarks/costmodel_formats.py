"""Throughput of the format emulation next to the reference libraries it is checked against.

Run: `.venv/bin/python benchmarks/costmodel_formats.py [--n 1048576 --repeats 5]`.
ml_dtypes casts are C++ (element formats only); gfloat's MX quantiser is
scalar Python (timed on a small slice). Writes
benchmarks/results/costmodel_formats.json and .png; prints machine, sizes,
repeats and medians.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from paradigmlab.costmodel import formats as F
from paradigmlab.measure import machine_info, time_repeats, write_json_atomic

OUT = Path(__file__).parent / "results"


def main() -> None:
    """Time each format in each implementation; save JSON + PNG."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1 << 20, help="elements per tensor")
    ap.add_argument("--gfloat-n", type=int, default=32 * 64, help="elements for the slow gfloat reference")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import ml_dtypes

    x = np.random.default_rng(0).standard_normal(args.n).astype(np.float32).reshape(-1, 1024)
    rows = []

    def add(impl: str, fmt: str, fn, n: int) -> None:
        t = time_repeats(fn, repeats=args.repeats)
        rows.append({"impl": impl, "format": fmt, "elements": n, **t, "melem_per_s": n / t["median_s"] / 1e6})
        print(f"{impl:10s} {fmt:12s} n={n:>8d} median {t['median_s'] * 1e3:8.2f} ms  {rows[-1]['melem_per_s']:8.1f} Melem/s")

    for fmt, dt in (("fp8_e4m3", "float8_e4m3fn"), ("fp8_e5m2", "float8_e5m2"), ("fp4_e2m1", "float4_e2m1fn")):
        add("paradigmlab", fmt, lambda f=fmt: F.quantize_element(x, f), x.size)
        add("ml_dtypes", fmt, lambda d=dt: x.astype(getattr(ml_dtypes, d)).astype(np.float32), x.size)
    for fmt in ("mxfp8_e4m3", "mxfp4_e2m1", "mxint8"):
        add("paradigmlab", fmt, lambda f=fmt: F.quantize_mx(x, f), x.size)
    add("paradigmlab", "nvfp4", lambda: F.quantize_nvfp4(x), x.size)
    try:
        import gfloat
        import gfloat.formats as gf

        small = x.reshape(-1)[: args.gfloat_n].astype(np.float64).reshape(-1, 32)
        for fmt, fi in (("mxfp8_e4m3", gf.format_info_mxfp8_e4m3), ("mxfp4_e2m1", gf.format_info_mxfp4_e2m1)):
            add("gfloat", fmt, lambda fi=fi: [gfloat.quantize_block(fi, b, gfloat.compute_scale_amax) for b in small],
                small.size)
    except ImportError as exc:
        print(f"gfloat not importable ({exc}); skipped")
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    print(f"machine: {info['processor']}, {info['cpu_count']} CPUs; repeats {args.repeats}")
    write_json_atomic(OUT / "costmodel_formats.json", {"machine": info, "args": vars(args), "rows": rows})
    _plot(rows, OUT / "costmodel_formats.png")


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{r['impl']}\n{r['format']}" for r in rows]
    impls = ["paradigmlab", "ml_dtypes", "gfloat"]
    colors = [f"C{impls.index(r['impl'])}" for r in rows]
    ax.bar(range(len(rows)), [r["melem_per_s"] for r in rows], color=colors)
    ax.set_xticks(range(len(rows)), labels, rotation=70, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("million elements / s (median)")
    ax.set_title("Format emulation throughput (quantise-dequantise)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
