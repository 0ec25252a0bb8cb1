"""Sample text from a trained looped LM checkpoint (KV cache on by default)."""

from __future__ import annotations

from pathlib import Path

import torch

from paradigmlab.data.text import get_tokenizer
from paradigmlab.looped.train import load_checkpoint


def generate_text(
    checkpoint: str | Path,
    prompt: str,
    max_new_tokens: int = 200,
    temperature: float = 0.8,
    top_k: int | None = 50,
    seed: int = 0,
    use_cache: bool = True,
    device: str = "cpu",
) -> str:
    """Continue ``prompt`` with the model in ``checkpoint`` (a file or a run folder); return prompt + continuation."""
    model, state = load_checkpoint(checkpoint, device)
    tok = get_tokenizer(state.get("tokenizer", "bytes"))
    ids = tok.encode(prompt) or [tok.eot]
    idx = torch.tensor([ids], dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k, use_cache=use_cache, generator=gen)
    return tok.decode(out[0].tolist())
