"""Counting: parameters, FLOPs and bytes against published sizes, hand formulas and torch's FLOP counter."""

import pytest

from paradigmlab.costmodel.cnn import resnet50_costs, resnet50_params
from paradigmlab.costmodel.hardware import load_hardware
from paradigmlab.costmodel.moe import expected_distinct_experts, ffn_compute_fraction
from paradigmlab.costmodel.transformer import (
    TransformerConfig, decoder_costs, from_looped, load_model, memory_bytes, resolve_weight_reuse,
)


@pytest.mark.parametrize("name, params", [
    ("gpt2", 124_439_808),  # HF model card / sum of tensor sizes
    ("llama-2-7b", 6_738_415_616),
    ("llama-2-70b", 68_976_648_192),
    ("mixtral-8x7b", 46_702_792_704),
])
def test_parameter_counts_match_published_checkpoints(name, params):
    assert load_model(name).n_params() == params


def test_deepseek_v3_is_671b_and_qwen3_8b_is_8_2b():
    assert load_model("deepseek-v3").n_params() / 1e9 == pytest.approx(671.0, abs=0.5)
    assert load_model("qwen3-8b").n_params() / 1e9 == pytest.approx(8.19, abs=0.01)


def test_resnet50_params_and_flops():
    assert resnet50_params() == 25_557_032  # torchvision resnet50
    assert resnet50_costs(1).flops / 2 / 1e9 == pytest.approx(4.09, abs=0.02)  # 4.09 GMACs at 224x224


def _tiny(**kw) -> TransformerConfig:
    base = dict(name="tiny", n_layers=2, d_model=64, n_heads=4, d_ff=256, vocab_size=256, ffn="gelu",
                tied_embeddings=True, max_position=32, bias=True, norm="layernorm", loops=3)
    base.update(kw)
    return TransformerConfig(**base)


def test_matmul_flops_match_torch_flop_counter_on_a_looped_lm():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    looped = pytest.importorskip("paradigmlab.looped")
    lcfg = looped.LoopedConfig(block="gpt2", vocab_size=256, block_size=32, d_model=64, n_head=4, layers=2, loops=3)
    model = looped.LoopedLM(lcfg)
    cfg = from_looped(lcfg)
    assert cfg == _tiny(name=cfg.name, source=cfg.source, n_kv_heads=4, head_dim=16)
    assert cfg.n_params() == sum(p.numel() for p in model.parameters())
    qcfg = looped.LoopedConfig(block="qwen3", vocab_size=300, block_size=32, d_model=64, n_head=4, n_kv_head=2,
                               layers=2, loops=3)
    assert from_looped(qcfg).n_params() == sum(p.numel() for p in looped.LoopedLM(qcfg).parameters())
    b, t = 2, 16
    with FlopCounterMode(display=False) as fc:
        model(torch.randint(0, 256, (b, t)))
    costs = decoder_costs(cfg, "prefill", b, t)
    proj = sum(op.flops * op.count for op in costs.ops if op.name.endswith("_proj"))
    lm_head_all_tokens = 2 * b * t * 64 * 256  # the model computes logits for every position
    assert fc.get_total_flops() == proj + lm_head_all_tokens


def test_decode_flops_and_bytes_follow_hand_formula():
    cfg = load_model("llama-2-7b")
    c = decoder_costs(cfg, "decode", batch=1, context=0, weight_dtype="bf16")
    linear = cfg.n_params() - cfg.vocab_size * cfg.d_model - cfg.d_model * (2 * cfg.n_layers + 1)  # minus embedding, norms
    mm = sum(op.flops * op.count for op in c.ops if op.name.endswith(("_proj", "lm_head")))
    assert mm == 2 * linear
    assert c.weight_bytes == pytest.approx(2 * linear + 2 * cfg.d_model * (2 * cfg.n_layers + 1))


def test_decode_intensity_is_one_in_bf16_and_two_with_8bit_weights():
    cfg = load_model("llama-2-7b")
    assert decoder_costs(cfg, "decode", 1, 512, "bf16").intensity == pytest.approx(1.0, abs=0.02)
    assert decoder_costs(cfg, "decode", 1, 512, "int8").intensity == pytest.approx(2.0, abs=0.1)
    assert decoder_costs(cfg, "prefill", 1, 2048, "bf16").intensity > 500
    assert 50 < resnet50_costs(1).intensity < resnet50_costs(32).intensity


def test_moe_distinct_experts_and_flops_fraction():
    assert expected_distinct_experts(256, 8, 1) == pytest.approx(8.0)
    assert expected_distinct_experts(256, 8, 32) == pytest.approx(163.3, abs=0.1)
    assert ffn_compute_fraction(256, 8) == 1 / 32
    ds = load_model("deepseek-v3")
    for t in (1, 32):
        c = decoder_costs(ds, "decode", batch=t, context=0, weight_dtype="fp8")
        routed = [op for op in c.ops if op.name.endswith("routed_experts")]
        assert len(routed) == 58  # 61 layers, first 3 dense
        expert = 3 * 7168 * 2048
        assert routed[0].flops == 2 * t * 8 * expert  # FLOPs follow top-k ...
        assert routed[0].weight_bytes == pytest.approx(expected_distinct_experts(256, 8, t) * expert)  # bytes follow distinct
    with pytest.raises(ValueError, match="top_k"):
        expected_distinct_experts(8, 9, 1)


def test_mla_caches_the_latent_and_gqa_shrinks_the_cache():
    ds = load_model("deepseek-v3")
    assert ds.kv_elements_per_token() == 61 * (512 + 64)
    l2, l3 = load_model("llama-2-70b"), load_model("llama-3-70b")
    assert l2.kv_elements_per_token() == 80 * 2 * 8 * 128
    c0 = decoder_costs(l3, "decode", 1, 0)
    c1 = decoder_costs(l3, "decode", 1, 1000)
    assert c1.kv_bytes - c0.kv_bytes == pytest.approx(1000 * l3.kv_elements_per_token() * 2)


def test_looped_weights_read_per_loop_or_once_and_on_chip_check():
    cfg = _tiny(loops=4)
    per_loop = decoder_costs(cfg, "decode", 1, 16, weight_reuse="per_loop")
    per_step = decoder_costs(cfg, "decode", 1, 16, weight_reuse="per_step")
    block = cfg.block_params() * 2
    assert per_loop.weight_bytes - per_step.weight_bytes == pytest.approx(3 * block)
    assert per_loop.flops == per_step.flops
    assert resolve_weight_reuse(cfg, block, "bf16")[0] == "per_step"
    assert resolve_weight_reuse(cfg, block - 1, "bf16")[0] == "per_loop"
    assert resolve_weight_reuse(cfg, None, "bf16")[0] == "per_loop"
    big = load_model("looped-gpt2-k3r12")
    assert resolve_weight_reuse(big, load_hardware("a100-80gb").on_chip_bytes, "bf16")[0] == "per_loop"
    assert resolve_weight_reuse(big, load_hardware("h100-sxm").on_chip_bytes, "bf16")[0] == "per_step"


def test_tensor_parallel_shards_blocks_and_adds_allreduces():
    cfg = load_model("llama-2-7b")
    c1, c2 = decoder_costs(cfg, tp=1), decoder_costs(cfg, tp=2)
    head = 4096 * 32000 * 2  # lm head (bf16) is replicated
    assert c2.weight_bytes == pytest.approx((c1.weight_bytes - head) / 2 + head, rel=1e-3)
    assert c2.comm_calls == 2 * 32 and c1.comm_calls == 0


def test_train_is_three_forward_passes_plus_optimizer():
    cfg = load_model("gpt2")
    fwd = decoder_costs(cfg, "prefill", 2, 128)
    tr = decoder_costs(cfg, "train", 2, 128)
    lm_extra = 2 * (2 * 128 - 2) * 768 * 50257  # train computes logits for every token
    assert tr.flops == pytest.approx(3 * (fwd.flops + lm_extra) + 10 * cfg.n_params())


def test_memory_fit_70b():
    cfg = load_model("llama-2-70b")
    assert memory_bytes(cfg, "int8") < 80e9 < memory_bytes(cfg, "bf16")
    assert memory_bytes(cfg, "int8") > 40e9  # int8 70B does not fit an A100-40GB


def test_bad_inputs_raise_clear_errors(tmp_path):
    cfg = load_model("gpt2")
    with pytest.raises(ValueError, match="phase"):
        decoder_costs(cfg, "generate")
    with pytest.raises(ValueError, match="batch"):
        decoder_costs(cfg, batch=0)
    with pytest.raises(ValueError, match="unknown dtype"):
        decoder_costs(cfg, weight_dtype="fp9")
    with pytest.raises(ValueError, match="unknown model"):
        load_model("gpt-5")
    bad = tmp_path / "m.json"
    bad.write_text('{"name": "x", "n_layers": 2, "d_model": 64, "n_heads": 4, "d_ff": 8, "vocab_size": 9, "typo": 1}')
    with pytest.raises(ValueError, match="unknown keys"):
        load_model(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot parse"):
        load_model(bad)
    toml = tmp_path / "m.toml"
    toml.write_text('name = "t"\nn_layers = 2\nd_model = 64\nn_heads = 4\nd_ff = 128\nvocab_size = 100\n')
    assert load_model(toml).n_layers == 2
