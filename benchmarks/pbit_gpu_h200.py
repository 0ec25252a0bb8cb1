"""p-bit flips/ns on one GPU against THRML on the same GPU (issue 20; prepared for a lent H200, a few minutes).

The torch kernel (one gather-multiply-reduce per colour over all chains, on CUDA) on the Niazi graph, the 4,096-node
6-regular graph and the 128x128 +-J lattice at 256, 1,024 and 4,096 chains; THRML's Gibbs sampler on the same
graphs and chains when jax sees the GPU. Median of ``--repeats`` timed runs after a warm-up.

    python benchmarks/pbit_gpu_h200.py --out "$OUT/pbit_gpu.json"
    python benchmarks/pbit_gpu_h200.py --device cpu --smoke      # checks the script itself

Goals (the issue's): >= 500 flips/ns on the Niazi graph (8x the FPGA), >= 10x THRML per GPU.
"""

from __future__ import annotations

import argparse

import torch

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.pbit.bench import run_throughput


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default=None)
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.device is None and not torch.cuda.is_available():
        print("no CUDA device here: skipped (--device cpu --smoke checks the script itself)")
        return
    device = args.device or "cuda"
    chains_list = (64,) if args.smoke else (256, 1024, 4096)
    sweeps, repeats = (5, 1) if args.smoke else (args.sweeps, args.repeats)
    rows = []
    for chains in chains_list:  # the torch kernel runs on CUDA whenever a GPU is there (TorchKernel's default)
        res = run_throughput(chains=chains, sweeps=sweeps, repeats=repeats, backends=("torch",),
                             competitors=("thrml",), progress=True)
        rows += res["results"]
    out = {"machine": machine_info(), "device": device,
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() and device != "cpu" else None,
           "rows": rows}
    if args.out:
        write_json_atomic(args.out, out)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
