"""costmodel.cluster: collectives against their closed forms, the step and memory model against Korthikanti's
formulas and the roofline's bounds, the planner, serving, checkpoints (Young/Daly against a numeric optimum),
the validation's bookkeeping against the published figures, and every bad input."""

import json
import math
from dataclasses import replace

import pytest

from paradigmlab.cli import main
from paradigmlab.costmodel import load_model
from paradigmlab.costmodel.cluster import ParallelPlan, load_cluster, memory_per_gpu, train_step
from paradigmlab.costmodel.cluster import network as net
from paradigmlab.costmodel.cluster.planner import candidate_plans, cheapest_for_deadline, search
from paradigmlab.costmodel.cluster.serving import serve_plan
from paradigmlab.costmodel.cluster.storage import checkpoint_plan, daly_interval, wasted_fraction
from paradigmlab.costmodel.cluster.training import activation_bytes_per_layer, check_plan
from paradigmlab.costmodel.cluster.validation import (build_model, formula_flops, load_measurements,
                                                      measured_seconds, validate_cluster)
from paradigmlab.costmodel.roofline import Calibration
from paradigmlab.costmodel.transformer import decoder_costs

H100 = load_cluster("dgx-h100-superpod")
CAL = Calibration(0.8, 0.6, 5e-6)


def gpt(layers=24, hidden=2048, heads=16, vocab=51200, seq=2048):
    return build_model({"gpt": {"layers": layers, "hidden": hidden, "heads": heads, "vocab": vocab, "seq": seq}})


# ---------------------------------------------------------------- collectives


def test_ring_allreduce_inside_a_domain_is_the_textbook_formula():
    n, p = 1e9, 8
    g = net.group(p, 1, H100)
    assert (g.size, g.per_domain, g.domains) == (8, 8, 1)
    expect = 2 * ((p - 1) * H100.scale_up_latency_s + (p - 1) / p * n / H100.up)  # reduce-scatter + all-gather
    assert net.allreduce(n, g, H100, "ring") == pytest.approx(expect, rel=1e-12)


def test_allreduce_across_domains_is_hierarchical_and_uses_every_nic():
    n = 4e9
    one_per_node = net.group(16, 8, H100)  # a DP group when TP=8 fills the node
    assert one_per_node.per_domain == 1 and one_per_node.domains == 16
    ring = 2 * (15 * H100.scale_out_latency_s + 15 / 16 * n / H100.out)
    assert net.allreduce(n, one_per_node, H100, "ring") == pytest.approx(ring, rel=1e-12)
    # 128 ranks, 8 per node: the inter-node phase moves n/8 per NIC, so it beats 16 ranks of one per node
    full = net.group(128, 1, H100)
    assert full.per_domain == 8 and full.domains == 16
    assert net.allreduce(n, full, H100, "ring") < net.allreduce(n, one_per_node, H100, "ring")
    # tree only changes the latency term: never slower than ring with "auto"
    big = net.group(1024, 8, H100)
    assert net.allreduce(1e3, big, H100, "auto") <= net.allreduce(1e3, big, H100, "ring")
    assert net.allreduce(1e3, big, H100, "tree") < net.allreduce(1e3, big, H100, "ring")


def test_all_to_all_inside_nvlink_is_far_cheaper_than_across_nics():
    n = 1e8
    inside = net.all_to_all(n, net.group(8, 1, H100), H100)
    across = net.all_to_all(n, net.group(64, 1, H100), H100)
    assert inside == pytest.approx(H100.scale_up_latency_s + n * 7 / 8 / H100.up)
    assert across > 5 * inside
    wide = replace(H100, scale_up_size=72)
    assert net.all_to_all(n, net.group(64, 1, wide), wide) < across / 5


def test_oversubscription_slows_a_fat_tree_but_not_a_rail_network():
    ft = replace(H100, topology="fat-tree", oversubscription=4.0)
    assert ft.out == pytest.approx(H100.out / 4)
    assert replace(H100, oversubscription=4.0).out == H100.out


# ---------------------------------------------------------------- memory and the step


def test_activation_memory_is_korthikanti_for_gpt():
    cfg = gpt(hidden=4096, heads=32, layers=8)
    s, b, h, t = 2048, 2, 4096, 8
    sp = ParallelPlan(tp=t, pp=1, dp=1, microbatch=b, sequence_parallel=True)
    assert activation_bytes_per_layer(cfg, sp, s, False) == pytest.approx(s * b * h * 34 / t)
    nosp = replace(sp, sequence_parallel=False)
    assert activation_bytes_per_layer(cfg, nosp, s, False) == pytest.approx(s * b * h * (10 + 24 / t))
    full = replace(sp, recompute="full")
    assert activation_bytes_per_layer(cfg, full, s, False) == pytest.approx(2 * s * b * h / t)


def test_weights_gradients_and_optimizer_add_up_to_the_model():
    cfg = load_model("llama-3-8b")
    p = cfg.n_params()
    mem = memory_per_gpu(cfg, ParallelPlan(zero=0), 4096, 1)
    assert mem["weights"] == pytest.approx(2 * p) and mem["gradients"] == pytest.approx(4 * p)
    assert mem["optimizer"] == pytest.approx(12 * p)
    z3 = memory_per_gpu(cfg, ParallelPlan(dp=8, zero=3), 4096, 1)
    assert z3["weights"] == pytest.approx(2 * p / 8) and z3["optimizer"] == pytest.approx(12 * p / 8)
    # pipeline stages split the layers; stage 0 holds pp micro-batches of its layers' activations under 1F1B
    pp4 = memory_per_gpu(cfg, ParallelPlan(pp=4, zero=0), 4096, 8)
    assert pp4["weights"] < mem["weights"] / 3


def test_step_breakdown_sums_and_scales_like_a_pipeline():
    cfg = gpt(layers=24)
    plan = ParallelPlan(tp=2, pp=4, dp=4)
    a = train_step(cfg, plan, H100, 2048, 64, CAL)
    assert sum(a.breakdown().values()) == pytest.approx(a.seconds)
    t_mb = (a.compute_s + a.recompute_s + a.comm_s["tp"] + a.comm_s["pp"]) / a.microbatches
    assert a.bubble_s == pytest.approx((plan.pp - 1) * t_mb)  # 1F1B: pp - 1 micro-batch slots idle
    inter = train_step(cfg, replace(plan, schedule="interleaved", virtual_stages=2), H100, 2048, 64, CAL)
    assert inter.bubble_s < 0.6 * a.bubble_s  # (pp - 1) / v
    b = train_step(cfg, plan, H100, 2048, 128, CAL)  # twice the micro-batches: compute doubles, bubble does not
    assert b.compute_s == pytest.approx(2 * a.compute_s) and b.bubble_s == pytest.approx(a.bubble_s)
    full = train_step(cfg, replace(plan, recompute="full"), H100, 2048, 64, CAL)
    assert full.recompute_s == pytest.approx(a.compute_s / 3, rel=0.05)


def test_one_gpu_compute_lies_between_the_roofline_bounds():
    cfg = load_model("llama-3-8b")
    hw = H100.hardware
    st = train_step(cfg, ParallelPlan(), H100, 2048, 1, Calibration())
    flops = 3 * sum(o.flops for o in decoder_costs(cfg, "prefill", 1, 2048).ops)
    assert st.compute_s >= 0.99 * flops / hw.peak("bf16")[0]
    assert st.compute_s <= 3 * flops / hw.peak("bf16")[0]
    assert 0.3 < st.mfu <= 1.0


def test_context_parallel_and_expert_parallel_communicate():
    cfg = load_model("llama-3-8b")
    cp = train_step(cfg, ParallelPlan(tp=8, cp=4, dp=2), H100, 131072, 8, CAL)
    assert cp.feasible and cp.microbatches == 4
    moe = load_model("mixtral-8x7b")
    ep1 = train_step(moe, ParallelPlan(tp=1, pp=4, dp=16), H100, 4096, 64, CAL)
    ep8 = train_step(moe, ParallelPlan(tp=1, pp=4, dp=16, ep=8), H100, 4096, 64, CAL)
    assert ep1.comm_s["ep"] == 0 and ep8.comm_s["ep"] > 0
    assert ep8.memory["weights"] < ep1.memory["weights"] / 3  # the experts are sharded
    hidden = train_step(moe, ParallelPlan(tp=1, pp=4, dp=16, ep=8, ep_overlap=1.0), H100, 4096, 64, CAL)
    assert hidden.comm_s["ep"] == 0


def test_a_plan_that_does_not_fit_says_why():
    st = train_step(load_model("llama-2-70b"), ParallelPlan(tp=1, pp=1, dp=8), H100, 4096, 8, CAL)
    assert not st.feasible and "memory" in st.reasons[0] and "GB" in st.reasons[0]


@pytest.mark.parametrize("plan, gpus, message", [
    (dict(tp=8, pp=4, dp=31), 1000, "multiply to the GPU count"),
    (dict(tp=8, pp=7, dp=1), 56, "does not divide the 32 executed layers"),
    (dict(tp=3, dp=1), 3, "does not divide the 32 attention heads"),
    (dict(ep=2, dp=2), 2, "has no experts"),
    (dict(dp=3), 3, r"not a multiple of dp\*microbatch"),
])
def test_bad_plans_are_named_errors(plan, gpus, message):
    with pytest.raises(ValueError, match=message):
        train_step(load_model("llama-3-8b"), ParallelPlan(**plan), H100, 4096, 8, CAL, gpus=gpus)


@pytest.mark.parametrize("field, value, message", [
    ("scale_out_gbs", 0, "scale_out_gbs must be a bandwidth > 0"),
    ("scale_up_gbs", float("nan"), "scale_up_gbs must be a bandwidth > 0"),
    ("scale_up_size", 0, "scale_up_size must be a positive integer"),
    ("efficiency", 1.5, "efficiency must be in"),
    ("oversubscription", "x", "oversubscription must be >= 1"),
    ("topology", "torus", "topology must be one of"),
])
def test_bad_clusters_are_named_errors(field, value, message):
    with pytest.raises(ValueError, match=message):
        replace(H100, **{field: value})


def test_plan_option_errors():
    with pytest.raises(ValueError, match="schedule must be one of"):
        ParallelPlan(schedule="gpipe")
    with pytest.raises(ValueError, match="virtual_stages > 1 needs schedule 'interleaved'"):
        ParallelPlan(virtual_stages=2)
    with pytest.raises(ValueError, match="DualPipe needs an even pipeline degree"):
        ParallelPlan(pp=3, schedule="dualpipe")
    with pytest.raises(ValueError, match="ep=3 must divide dp"):
        ParallelPlan(dp=4, ep=3)
    with pytest.raises(ValueError, match="interleaved schedule needs micro-batches"):
        check_plan(load_model("llama-3-8b"), ParallelPlan(pp=4, schedule="interleaved", virtual_stages=2), None,
                   4096, 6)


def test_cluster_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({**H100.to_dict(), "scale_out_gbs": -1}))
    with pytest.raises(ValueError, match="c.json.*scale_out_gbs"):
        load_cluster(bad)
    bad.write_text(json.dumps({**H100.to_dict(), "gpu": "tpu-v9"}))
    with pytest.raises(ValueError, match="c.json.*unknown hardware 'tpu-v9'"):
        load_cluster(bad)
    bad.write_text(json.dumps({**H100.to_dict(), "nics": 8}))
    with pytest.raises(ValueError, match="unknown keys"):
        load_cluster(bad)


# ---------------------------------------------------------------- planner


def test_search_returns_the_fastest_feasible_plan_of_the_space():
    cfg = gpt(layers=24, hidden=2048, heads=16)
    plans = candidate_plans(cfg, 64, 2048, 256, H100)
    assert len(plans) > 100 and all(p.gpus == 64 for p in plans)
    res = search(cfg, H100, 64, 2048, 256, CAL, plans=plans)
    brute = min((train_step(cfg, p, H100, 2048, 256, CAL) for p in plans), key=lambda s: (not s.feasible, s.seconds))
    assert res.best.seconds == pytest.approx(brute.seconds) and res.best.feasible
    assert [s.seconds for s in res.top] == sorted(s.seconds for s in res.top)
    assert res.evaluated == len(plans) and res.feasible + sum(res.rejected.values()) == len(plans)


def test_search_rejects_what_cannot_lay_out():
    with pytest.raises(ValueError, match="no plan lays out"):
        search(gpt(), H100, 7, 2048, 5, CAL)


def test_a_deadline_picks_the_cheapest_gpu_count_that_meets_it():
    cfg = gpt(layers=24, hidden=2048, heads=16)
    res = cheapest_for_deadline(cfg, H100, 2e10, 1.0, [8, 16, 32, 64], 2048, 256, CAL)
    ok = [r for r in res["rows"] if r.get("meets_deadline")]
    assert res["best"] == min(ok, key=lambda r: r["gpu_hours"])
    assert all(r["days"] > 1.0 for r in res["rows"] if "days" in r and not r["meets_deadline"])


# ---------------------------------------------------------------- serving and storage


def test_serving_pools_meet_their_targets_and_grow_with_the_rate():
    cfg = load_model("llama-3-8b")
    low = serve_plan(cfg, H100, 2.0, 1024, 128, 0.5, 0.03)
    high = serve_plan(cfg, H100, 500.0, 1024, 128, 0.5, 0.03)
    for s in (low, high):
        assert s.ttft_s <= 0.5 and s.decode.latency_s <= 0.03
        assert s.decode.replicas * s.decode.tokens_per_s_per_replica >= s.rate_rps * s.output
    assert high.gpus > low.gpus
    with pytest.raises(ValueError, match="TPOT 0.01 ms"):
        serve_plan(cfg, H100, 1.0, 1024, 128, 0.5, 1e-5)


def test_daly_interval_minimises_the_expected_waste():
    from scipy.optimize import minimize_scalar

    delta, mtbf = 30.0, 3 * 3600.0
    best = minimize_scalar(lambda t: wasted_fraction(t, delta, mtbf), bounds=(1, 20000), method="bounded").x
    assert daly_interval(delta, mtbf) == pytest.approx(best, rel=0.03)
    assert daly_interval(delta, mtbf) == pytest.approx(math.sqrt(2 * delta * mtbf), rel=0.1)  # Young, first order


def test_llama3_failure_rate_gives_its_three_hour_mtbf():
    c = load_cluster("meta-h100-roce")
    res = checkpoint_plan(load_model("llama-3.1-405b"), 16384, c.storage_write_gbs, c.gpu_mtbf_hours)
    assert res.job_mtbf_s / 3600 == pytest.approx(54 * 24 / 419, rel=0.01)  # 419 interruptions in 54 days
    assert res.bytes == pytest.approx(14 * load_model("llama-3.1-405b").n_params())
    assert res.interval_s >= res.write_s and 0 < res.wasted_fraction < 0.2
    with pytest.raises(ValueError, match="storage_write_gbs must be > 0"):
        checkpoint_plan(load_model("llama-3-8b"), 8, 0, 1000)


# ---------------------------------------------------------------- validation bookkeeping


def test_formulas_reproduce_the_published_utilisation():
    rows = {r["id"]: r for r in load_measurements()}
    r = rows["korthikanti-1t"]  # Table 5: 71.49 s per iteration, MFU 56.3 % on 512 A100s
    cfg = build_model(r["model"])
    assert formula_flops(cfg, 2048, 512, "megatron") / (71.49 * 512 * 312e12) == pytest.approx(0.563, abs=0.002)
    g = build_model(rows["megatron-1008b-3072"]["model"])  # Table 1: 163 TFLOP/s/GPU, 502 PFLOP/s aggregate
    t = measured_seconds(rows["megatron-1008b-3072"], g)
    assert formula_flops(g, 2048, 3072, "narayanan") / t / 1e15 == pytest.approx(502.0, rel=0.005)
    l3 = rows["llama3-405b-16384"]
    assert measured_seconds(l3, build_model(l3["model"])) == pytest.approx(
        formula_flops(build_model(l3["model"]), 8192, 2048, "megatron") / (400e12 * 16384))


def test_validation_keeps_calibration_rows_out_of_the_score():
    res = validate_cluster()
    held = [r for r in res["rows"] if r["split"] == "held-out"]
    s = res["summary"]
    assert s["held_out"] == len(held) >= 30 and len(res["rows"]) - len(held) >= 6
    assert s["within_tolerance"] == sum(abs(r["error"]) <= 0.15 for r in held)
    assert s["mean_abs_error"] == pytest.approx(sum(abs(r["error"]) for r in held) / len(held))
    for r in res["rows"]:
        assert r["error"] == pytest.approx(r["predicted_s"] / r["measured_s"] - 1)
    for c in res["calibrations"].values():
        assert 0.3 < c["compute_efficiency"] < 0.95  # physical: what large GEMMs reach of the dense peak
    assert s["mean_abs_error"] < 0.2  # regression guard (13 % when this was written)


# ---------------------------------------------------------------- CLI


def test_cli_plan_serve_checkpoint_and_validate(capsys):
    assert main(["costmodel", "plan", "--model", "llama-3-8b", "--gpus", "64", "--hardware", "h100-sxm",
                 "--batch", "256", "--top", "3", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["mode"] == "search" and len(res["top"]) == 3 and res["best"]["feasible"]
    assert main(["costmodel", "plan", "--model", "llama-3-8b", "--gpus", "64", "--hardware", "dgx-h100-superpod",
                 "--tp", "2", "--pp", "4", "--batch", "256"]) == 0
    assert "TP2 PP4 DP8" in capsys.readouterr().out
    assert main(["costmodel", "serve", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--rate", "5",
                 "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["gpus"] >= 2
    assert main(["costmodel", "checkpoint", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--gpus", "64"]) == 0
    assert "Daly" in capsys.readouterr().out
    assert main(["costmodel", "validate", "--phase", "cluster"]) == 0
    assert "Held out of every fit" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--gpus", "1000", "--tp", "8", "--pp", "4"], "multiply to the GPU count"),
    (["--gpus", "48", "--tp", "8", "--pp", "3"], "does not divide the 32 executed layers"),
    (["--gpus", "64", "--hardware", "a100-40gb"], "has no default cluster"),
    (["--deadline-days", "3"], "needs --tokens"),
])
def test_cli_plan_errors(argv, message, capsys):
    base = ["costmodel", "plan", "--model", "llama-3-8b"]
    if "--hardware" not in argv:
        base += ["--hardware", "h100-sxm"]
    assert main(base + argv) == 2
    assert message in capsys.readouterr().err


def test_looped_models_keep_their_shared_block_on_every_stage():
    cfg = load_model("looped-gpt2-k3r12")  # 3 unique layers run 12 times: 36 executed layers
    block = 2.0 * cfg.block_params()
    four = train_step(cfg, ParallelPlan(pp=4, dp=2, zero=0), H100, 1024, 64, CAL)
    assert four.memory["weights"] >= block  # each stage runs (and holds) all 3 unique layers
    # no data parallelism, yet the stages' copies of the block must sum their gradients
    alone = train_step(cfg, ParallelPlan(pp=4, dp=1, zero=0, dp_overlap=False), H100, 1024, 64, CAL)
    assert alone.comm_s["dp"] > 0
    dense = train_step(load_model("gpt2"), ParallelPlan(pp=4, dp=1, zero=0, dp_overlap=False), H100, 1024, 64, CAL)
    assert dense.comm_s["dp"] == 0
    with pytest.raises(ValueError, match="does not divide the 36 executed layers"):
        train_step(cfg, ParallelPlan(pp=5, dp=1), H100, 1024, 64, CAL)
