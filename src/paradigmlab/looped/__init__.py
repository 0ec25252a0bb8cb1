"""Looped Transformers: a base block of k layers applied r times with shared weights (paper 2.1.3, 4.2)."""

from paradigmlab.looped.model import KVCache, LoopedConfig, LoopedLM

__all__ = ["KVCache", "LoopedConfig", "LoopedLM"]
