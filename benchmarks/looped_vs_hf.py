"""Training tokens/s: our 12x1 GPT-2 LoopedLM vs Hugging Face GPT2LMHeadModel, same config, same batch.

Both models get the same weights (ours copied into HF's Conv1D layout, and the
loss of the first batch is checked to agree), the same AdamW, the same batch;
a timed step is forward + backward + clip + optimizer step. On CUDA both run
under bf16 autocast and MFU is reported against the GPU's dense bf16 peak.
Writes benchmarks/results/looped_vs_hf_<device>.json and .png. Same as
`paradigmlab looped bench --out benchmarks/results` (its --help lists the options).

    .venv/bin/python benchmarks/looped_vs_hf.py                 # CPU, d=256
    .venv/bin/python benchmarks/looped_vs_hf.py --d-model 768 --block-size 1024 --batch-size 8   # GPU
"""

from __future__ import annotations

import sys
from pathlib import Path

from paradigmlab.cli import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["looped", "bench", "--out", str(RESULTS), *sys.argv[1:]]))
