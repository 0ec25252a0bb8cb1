"""LoopedLM: exact parameter counts, equivalence to GPT-2/Qwen3 references, looping switches, KV cache."""

from __future__ import annotations

import pytest
import torch

from paradigmlab.looped.model import KVCache, LoopedConfig, LoopedLM
from paradigmlab.trainer import torch_threads

@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):  # tiny tensors: fastest, and immune to a busy machine's oversubscription
        yield


GPT2_SMALL_UNIQUE = {(12, 1): 124_439_808, (1, 12): 46_473_216, (6, 6): 81_912_576, (3, 12): 60_648_960, (2, 18): 53_561_088}


def tiny(**kw) -> LoopedConfig:
    base = dict(block="gpt2", vocab_size=40, block_size=24, d_model=32, n_head=4, layers=2, loops=3)
    base.update(kw)
    return LoopedConfig(**base)


def model(seed: int = 0, **kw) -> LoopedLM:
    torch.manual_seed(seed)
    return LoopedLM(tiny(**kw)).eval()


@pytest.mark.parametrize("kr", sorted(GPT2_SMALL_UNIQUE))
def test_gpt2_small_unique_params_exact(kr):
    k, r = kr
    m = LoopedLM.shape_only(LoopedConfig.gpt2_small(k, r))
    d, V, T = 768, 50257, 1024
    analytic = V * d + T * d + k * (12 * d * d + 13 * d) + 2 * d  # tied head, final LN
    assert m.num_params(unique=True) == analytic == GPT2_SMALL_UNIQUE[kr]
    assert m.num_params(unique=False) == V * d + T * d + k * r * (12 * d * d + 13 * d) + 2 * d
    assert m.num_params(non_embedding=True) == analytic - V * d - T * d
    assert m.effective_depth == k * r
    assert m.lm_head.weight is m.wte.weight


def test_matches_huggingface_gpt2():
    transformers = pytest.importorskip("transformers")
    cfg = tiny(layers=3, loops=1)
    ours = model(layers=3, loops=1)
    hf_cfg = transformers.GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.d_model,
                                     n_layer=3, n_head=cfg.n_head, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
    hf = transformers.GPT2LMHeadModel(hf_cfg).eval()
    sd = {}
    for name, p in ours.state_dict().items():
        hf_name = "transformer." + name.replace("blocks.", "h.") if name != "lm_head.weight" else name
        if name.startswith("ln_f") or name.startswith("wte") or name.startswith("wpe"):
            hf_name = "transformer." + name
        conv = any(name.endswith(s) for s in ("c_attn.weight", "c_proj.weight", "c_fc.weight"))
        sd[hf_name] = p.t() if conv else p
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    assert not unexpected and all("attn.bias" in m or "masked_bias" in m for m in missing)
    x = torch.randint(0, cfg.vocab_size, (2, 17))
    with torch.no_grad():
        assert torch.allclose(ours(x)[0], hf(x).logits, atol=1e-5)


def test_matches_huggingface_qwen3():
    transformers = pytest.importorskip("transformers")
    cfg = tiny(block="qwen3", n_kv_head=2, layers=2, loops=1, d_ff=48)
    ours = model(block="qwen3", n_kv_head=2, layers=2, loops=1, d_ff=48)
    hf_cfg = transformers.Qwen3Config(vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, intermediate_size=48,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                                      max_position_embeddings=cfg.block_size, tie_word_embeddings=True,
                                      rope_parameters={"rope_type": "default", "rope_theta": 1e6})
    hf = transformers.Qwen3ForCausalLM(hf_cfg).eval()
    q, kv = 4 * 8, 2 * 8
    sd = {"model.embed_tokens.weight": ours.wte.weight, "model.norm.weight": ours.ln_f.weight, "lm_head.weight": ours.wte.weight}
    for i, b in enumerate(ours.blocks):
        w = b.attn.c_attn.weight
        g, u = b.mlp.c_fc.weight.chunk(2, dim=0)
        p = f"model.layers.{i}."
        sd.update({p + "self_attn.q_proj.weight": w[:q], p + "self_attn.k_proj.weight": w[q:q + kv],
                   p + "self_attn.v_proj.weight": w[q + kv:], p + "self_attn.o_proj.weight": b.attn.c_proj.weight,
                   p + "self_attn.q_norm.weight": b.attn.q_norm.weight, p + "self_attn.k_norm.weight": b.attn.k_norm.weight,
                   p + "mlp.gate_proj.weight": g, p + "mlp.up_proj.weight": u, p + "mlp.down_proj.weight": b.mlp.c_proj.weight,
                   p + "input_layernorm.weight": b.ln_1.weight, p + "post_attention_layernorm.weight": b.ln_2.weight})
    with torch.no_grad():
        for norm in [m for m in ours.modules() if isinstance(m, torch.nn.RMSNorm)]:
            norm.weight.uniform_(0.5, 1.5)  # make the norm weights matter
    hf.load_state_dict({k: v.detach().clone() for k, v in sd.items()}, strict=True)
    x = torch.randint(0, cfg.vocab_size, (2, 19))
    with torch.no_grad():
        assert torch.allclose(ours(x)[0], hf(x).logits, atol=1e-5)


def test_looping_equals_unrolled_copies():
    looped = model(layers=2, loops=3)
    unrolled = LoopedLM(tiny(layers=6, loops=1)).eval()
    sd = {k: v for k, v in looped.state_dict().items() if not k.startswith("blocks.")}
    for i in range(6):
        for k, v in looped.blocks[i % 2].state_dict().items():
            sd[f"blocks.{i}.{k}"] = v
    unrolled.load_state_dict(sd)
    x = torch.randint(0, 40, (2, 11))
    with torch.no_grad():
        assert torch.allclose(looped(x)[0], unrolled(x)[0], atol=1e-6)


def _manual_forward(m: LoopedLM, x: torch.Tensor, inject: str) -> torch.Tensor:
    e = m.wte(x) + m.wpe(torch.arange(x.size(1)))
    h = e
    kv = KVCache(persistent=False)
    for i in range(m.config.loops):
        if i > 0 and inject == "add":
            h = h + e
        if i > 0 and inject == "concat":
            h = torch.cat([h, e], -1) @ m.inject.weight.t()
        if m.step_emb is not None:
            h = h + m.step_emb.weight[i]
        for j, b in enumerate(m.blocks):
            h = b(h, None, kv, i * len(m.blocks) + j, False)
    return m.lm_head(m.ln_f(h))


@pytest.mark.parametrize("inject", ["add", "concat"])
def test_input_injection_and_step_embedding(inject):
    m = model(input_injection=inject, step_embedding=True)
    with torch.no_grad():
        m.step_emb.weight.normal_()
        if m.inject is not None:
            m.inject.weight.normal_(std=0.1)
    x = torch.randint(0, 40, (2, 9))
    with torch.no_grad():
        ref = _manual_forward(m, x, inject)
        assert torch.allclose(m(x)[0], ref, atol=1e-5)
        plain = model()  # same seed, no switches: differs once the switches have non-trivial weights
        assert not torch.allclose(plain(x)[0], ref, atol=1e-3)


def test_switches_start_neutral():
    """Zero step embedding and the [I, 0] injection map leave the untrained model as without them."""
    x = torch.randint(0, 40, (2, 9))
    plain, switched = model(), model(input_injection="concat", step_embedding=True)
    missing, unexpected = switched.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == ["inject.weight", "step_emb.weight"] and not unexpected
    with torch.no_grad():
        assert torch.allclose(plain(x)[0], switched(x)[0], atol=1e-6)


def test_sandwich_norm_params_and_calls():
    plain, sand = model(), model(sandwich_norm=True)
    assert sand.num_params() - plain.num_params() == 2 * 2 * (2 * 32)  # 2 layers x 2 LayerNorms x (w, b)
    calls = []
    sand.blocks[0].ln_2_post.register_forward_hook(lambda *a: calls.append(1))
    sand(torch.randint(0, 40, (1, 5)))
    assert len(calls) == 3  # once per loop


def test_random_loops_and_truncated_backprop():
    m = model(loops=4, min_loops=2, random_loops=True, backprop_loops=1).train()
    x = torch.randint(0, 40, (2, 8))
    seen = set()
    torch.manual_seed(1)
    for _ in range(40):
        m(x)
        seen.add(m.loops_used)
    assert seen == {2, 3, 4}
    m.eval()
    m(x)
    assert m.loops_used == 4
    # Truncation: position embeddings reach the loss only through the loops, so with
    # backprop through the last loop only they get no gradient; the loss itself is unchanged.
    full, trunc = model(loops=3).train(), model(loops=3, backprop_loops=1).train()
    _, l_full = full(x, x)
    _, l_trunc = trunc(x, x)
    l_full.backward()
    l_trunc.backward()
    assert torch.allclose(l_full, l_trunc)
    assert full.wpe.weight.grad.abs().sum() > 0
    assert trunc.wpe.weight.grad is None or trunc.wpe.weight.grad.abs().sum() == 0
    assert trunc.blocks[0].attn.c_attn.weight.grad.abs().sum() > 0


def test_adaptive_exit():
    x = torch.randint(0, 40, (2, 8))
    never = model(loops=5, exit_tolerance=1e-12)
    with torch.no_grad():
        full = never(x)[0]
        assert never.loops_used == 5
        early = model(loops=5, exit_tolerance=1e9)
        out = early(x)[0]
        assert early.loops_used == 2
        assert torch.allclose(out, never(x, loops=2)[0], atol=1e-6)
        assert not torch.allclose(out, full, atol=1e-4)
        # Cached decoding with exits keeps every cache slot the same length.
        cache = KVCache()
        early(x, cache=cache)
        early(x[:, :1], cache=cache)
        assert {k.size(2) for k in cache.k.values()} == {9}
        assert len(cache.k) == 2 * 5


@pytest.mark.parametrize("block", ["gpt2", "qwen3"])
@pytest.mark.parametrize("share", [False, True])
def test_kv_cache_generation_equals_recompute(block, share):
    kw = dict(block=block, share_loop_kv=share, input_injection="add", step_embedding=True, sandwich_norm=True)
    if block == "qwen3":
        kw["n_kv_head"] = 1
    m = model(**kw)
    with torch.no_grad():
        m.step_emb.weight.normal_(std=0.5)
    prompt = torch.randint(0, 40, (2, 5))
    # 30 new tokens overflow block_size=24: the cache is rebuilt, as the recompute path crops.
    a = m.generate(prompt, 30, temperature=0, use_cache=True)
    b = m.generate(prompt, 30, temperature=0, use_cache=False)
    assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    s1 = m.generate(prompt, 12, temperature=0.9, top_k=5, use_cache=True, generator=g1)
    s2 = m.generate(prompt, 12, temperature=0.9, top_k=5, use_cache=False, generator=g2)
    assert torch.equal(s1, s2)
    cache = KVCache()
    m(prompt, cache=cache)
    assert len(cache.k) == (2 if share else 2 * 3)  # k slots when loops share K/V, else k*r


def test_shared_kv_changes_the_model():
    x = torch.randint(0, 40, (1, 10))
    with torch.no_grad():
        assert not torch.allclose(model()(x)[0], model(share_loop_kv=True)(x)[0], atol=1e-4)


def test_flops_and_decode_cost():
    base, wide, deep = (LoopedLM.shape_only(LoopedConfig.gpt2_small(k, r)) for k, r in ((12, 1), (1, 12), (2, 18)))
    d, V, T, L = 768, 50257, 1024, 12
    assert base.flops_per_token() == 3 * (2 * (L * 12 * d * d + V * d) + 4 * L * T * d)
    assert wide.flops_per_token() == base.flops_per_token()
    blocks = lambda m: m.flops_per_token() - 6 * V * d  # noqa: E731
    assert blocks(deep) == 3 * blocks(base)
    c_base, c_wide = base.decode_cost(1024), wide.decode_cost(1024)
    assert c_base["intensity_reuse"] == c_base["intensity_no_reuse"]
    assert c_wide["intensity_reuse"] / c_wide["intensity_no_reuse"] == pytest.approx(
        c_wide["bytes_weights_once_per_loop"] / c_wide["bytes_weights_once_per_token"])
    assert c_wide["bytes_weights_once_per_token"] == 2 * 46_473_216 + c_wide["kv_cache_bytes"]


@pytest.mark.parametrize("kw", [dict(block="bert"), dict(d_model=30), dict(n_kv_head=3), dict(loops=0),
                                dict(input_injection="mul"), dict(min_loops=5), dict(backprop_loops=4),
                                dict(exit_tolerance=0.0), dict(dropout=1.0)])
def test_bad_config_raises(kw):
    with pytest.raises(ValueError):
        tiny(**kw)


def test_bad_inputs_raise():
    m = model()
    with pytest.raises(ValueError, match="block_size"):
        m(torch.zeros(1, 25, dtype=torch.long))
    with pytest.raises(ValueError, match="loops"):
        m(torch.zeros(1, 5, dtype=torch.long), loops=4)
    with pytest.raises(ValueError, match="temperature"):
        m.generate(torch.zeros(1, 2, dtype=torch.long), 3, temperature=-1)
    with pytest.raises(ValueError, match="unknown"):
        LoopedConfig.from_dict({"depth": 3})
