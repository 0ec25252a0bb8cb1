"""Masked-diffusion LM: the NELBO estimator against exact enumeration, the bound itself, the AR model's sliding NLL,
the Markov corpus's exact entropy, the samplers against an exact denoiser, the block cache, training and resume."""

import itertools
import math
import types

import numpy as np
import pytest
import torch
from scipy import stats

from paradigmlab.data.markov import MarkovSource
from paradigmlab.data.tokens import check_tokens, load_token_file, token_data
from paradigmlab.diffusion.mdm import (T_MIN, MarkovDenoiser, MaskedDiffusion, antithetic_counts, antithetic_times,
                                       ar_nll, denoiser_config, exact_nelbo, nelbo, nelbo_by_time)
from paradigmlab.diffusion.sampling import SamplerConfig, sample
from paradigmlab.looped.model import LoopedConfig, LoopedLM
from paradigmlab.validate import InputError


def tiny_denoiser(vocab=5, L=6, layers=1, seed=0, scale=20.0, block="gpt2"):
    torch.manual_seed(seed)
    m = LoopedLM(denoiser_config(vocab, block_size=L, d_model=16, n_head=2, layers=layers, block=block))
    with torch.no_grad():  # far from uniform, so the checks are not trivially met by a flat model
        for p in m.parameters():
            p.mul_(scale)
    return m.eval()


# ------------------------------------------------------------------------------------------ the bound
def test_monte_carlo_nelbo_matches_exact_enumeration():
    m = tiny_denoiser()
    x = torch.tensor([1, 3, 0, 4, 2, 2])
    exact = exact_nelbo(m, x, t_min=T_MIN) / 6
    r = nelbo(m, x.repeat(3000, 1), samples=4, seed=1, batch_size=1000)
    assert abs(r["nll_per_token"] - exact) < 4 * r["stderr"]
    assert r["stderr"] < 0.02 * exact  # the test has power: the error bar is small against the value
    # the skipped [0, T_MIN) slice of t moves the value by O(T_MIN) only
    assert exact_nelbo(m, x) / 6 == pytest.approx(exact, rel=5 * T_MIN)


def test_count_estimator_matches_exact_enumeration_with_less_variance():
    # |M| ~ U{1..L} with weight L/|M| is the same bound over all t in (0, 1] (no T_MIN cut), with less variance
    m = tiny_denoiser()
    x = torch.tensor([1, 3, 0, 4, 2, 2])
    exact = exact_nelbo(m, x) / 6
    by_count = nelbo(m, x.repeat(3000, 1), samples=4, seed=1, batch_size=1000, estimator="count")
    by_time = nelbo(m, x.repeat(3000, 1), samples=4, seed=1, batch_size=1000)
    assert abs(by_count["nll_per_token"] - exact) < 4 * by_count["stderr"]
    assert by_count["stderr"] < 0.7 * by_time["stderr"]
    assert "|M|" in by_count["estimator"]
    with pytest.raises(InputError, match="estimator"):
        nelbo(m, x[None], estimator="mask")


def test_antithetic_counts_are_uniform_over_one_to_length():
    g = torch.Generator().manual_seed(0)
    m = torch.cat([antithetic_counts(12, 6, g) for _ in range(500)])
    assert m.min() == 1 and m.max() == 6
    assert torch.equal(torch.bincount(m, minlength=7)[1:], torch.full((6,), 1000))  # 12 = 2 x 6: exactly even


def test_nelbo_is_an_upper_bound_on_a_normalised_likelihood():
    # NELBO(x) = E_order[-log p_order(x)] (any-order AR), so sum_x exp(-NELBO(x)) <= sum_x E_order p_order(x) = 1
    V, L = 3, 3
    m = tiny_denoiser(vocab=V, L=L, scale=5.0)
    total = sum(math.exp(-exact_nelbo(m, torch.tensor(x))) for x in itertools.product(range(V), repeat=L))
    assert 0.5 < total <= 1.0 + 1e-9  # Jensen's gap is positive but the bound is not vacuous


def test_antithetic_times_cover_the_interval_evenly():
    t = antithetic_times(8, torch.Generator().manual_seed(0))
    assert t.min() >= T_MIN and t.max() <= 1
    gaps = torch.diff(torch.sort(t).values)
    assert torch.allclose(gaps, torch.full_like(gaps, (1 - T_MIN) / 8), atol=1e-6)


def test_ar_nll_scores_every_token_once_with_its_stated_context():
    torch.manual_seed(0)
    T = 8
    m = LoopedLM(LoopedConfig(vocab_size=5, block_size=T, d_model=16, n_head=2, layers=1)).eval()
    toks = torch.randint(0, 5, (40,))
    for stride in (1, 3, T):
        r = ar_nll(m, toks, stride=stride)
        assert r["tokens_scored"] == len(toks) - 1
    # stride 1: target j is predicted from tokens[max(0, j - T):j]
    with torch.no_grad():
        brute = [float(-torch.log_softmax(m(toks[max(0, j - T):j][None])[0][0, -1], -1)[toks[j]])
                 for j in range(1, len(toks))]
    assert ar_nll(m, toks, stride=1)["nll_per_token"] == pytest.approx(np.mean(brute), rel=1e-5)


# ------------------------------------------------------------------------------------------ Markov corpus
def test_markov_block_entropy_and_log_prob_are_exact():
    src = MarkovSource(vocab_size=3, order=2, concentration=0.5, seed=3)
    for L in (1, 2, 4):
        seqs = np.array(list(itertools.product(range(3), repeat=L)))
        lp = src.log_prob(seqs)
        assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-12)
        assert -(np.exp(lp) * lp).sum() == pytest.approx(src.block_entropy(L), rel=1e-10)
    # per-token block entropy falls to the entropy rate: H(L+1) - H(L) = h once L >= order
    assert src.block_entropy(5) - src.block_entropy(4) == pytest.approx(src.entropy_rate(), rel=1e-12)


def test_markov_sample_has_the_entropy_rate():
    src = MarkovSource(vocab_size=8, order=2, concentration=0.3, seed=1)
    x = src.sample(200_000, seed=2)
    per_token = -src.log_prob(x[None, :].astype(np.int64))[0] / len(x)
    assert per_token == pytest.approx(src.entropy_rate(), rel=0.01)


def test_markov_source_rejects_bad_settings():
    with pytest.raises(InputError, match="vocab_size"):
        MarkovSource(vocab_size=1)
    with pytest.raises(InputError, match="states exceeds"):
        MarkovSource(vocab_size=1000, order=3)
    with pytest.raises(InputError, match="tokens must be in"):
        MarkovSource(4, 1).log_prob(np.array([[0, 5]]))


@pytest.mark.parametrize("V,k,L", [(3, 2, 6), (2, 1, 7), (2, 3, 7), (4, 2, 5)])
def test_markov_masked_marginals_match_enumeration(V, k, L):
    src = MarkovSource(vocab_size=V, order=k, concentration=0.5, seed=3)
    seqs = np.array(list(itertools.product(range(V), repeat=L)))
    p = np.exp(src.log_prob(seqs))
    rng = np.random.default_rng(0)
    w = seqs[rng.choice(len(seqs), 6, p=p / p.sum())]
    masked = rng.random(w.shape) < 0.5
    masked[0] = True  # nothing visible: the stationary marginals
    got = np.exp(src.masked_log_marginals(w, masked))
    for b in range(len(w)):
        q = p * (seqs[:, ~masked[b]] == w[b, ~masked[b]]).all(1)
        q /= q.sum()
        want = np.stack([np.bincount(seqs[:, i], weights=q, minlength=V) for i in range(L)])
        np.testing.assert_allclose(got[b], want, atol=1e-12)


def test_markov_masked_marginals_reject_bad_input():
    src = MarkovSource(vocab_size=3, order=2, seed=0)
    w = np.zeros((2, 5), dtype=np.int64)
    with pytest.raises(InputError, match="masked must have the windows' shape"):
        src.masked_log_marginals(w, np.zeros((2, 4), dtype=bool))
    with pytest.raises(InputError, match="longer than the chain's order 2"):
        src.masked_log_marginals(w[:, :2], np.zeros((2, 2), dtype=bool))
    with pytest.raises(InputError, match="tokens must be in"):
        src.masked_log_marginals(w + 3, np.zeros((2, 5), dtype=bool))


def test_markov_denoiser_makes_the_bound_tight_and_the_estimators_unbiased():
    src = MarkovSource(vocab_size=3, order=2, concentration=0.5, seed=3)
    model = MarkovDenoiser(src, 8)
    for seed in (1, 2):  # the any-order bound with the true conditionals is the exact NLL, sequence by sequence
        x = torch.from_numpy(src.sample(8, seed=seed).astype(np.int64))
        assert exact_nelbo(model, x) == pytest.approx(-src.log_prob(x.numpy()[None])[0], rel=1e-6)
    big = MarkovSource(vocab_size=8, order=2, concentration=0.3, seed=1)
    windows = torch.from_numpy(big.sample(48 * 128, seed=4).astype(np.int64)).view(128, 48)
    h = big.block_entropy(48) / 48
    for estimator in ("time", "count"):
        r = nelbo(MarkovDenoiser(big, 48), windows, samples=4, estimator=estimator)
        assert abs(r["nll_per_token"] - h) < 4 * r["stderr"]
    by_t = nelbo_by_time(MarkovDenoiser(big, 48), windows, bins=5, samples=4)
    assert len(by_t["share"]) == 5 and by_t["edges"][0] == T_MIN and by_t["edges"][-1] == 1.0
    assert abs(by_t["nll_per_token"] - h) < 0.05 * h
    # a denoiser that ignores its context pays most where most of the context is visible (small t)
    flat = tiny_denoiser(vocab=8, L=48, scale=0.0)
    worse = nelbo_by_time(flat, windows, bins=5, samples=4)
    gaps = np.subtract(worse["share"], by_t["share"])
    assert (gaps > 0).all() and gaps[0] > gaps[-1]


def test_nelbo_split_by_time_uses_the_nelbo_draws():
    m = tiny_denoiser(vocab=5, L=6)
    x = torch.randint(0, 5, (40, 6), generator=torch.Generator().manual_seed(3))
    whole = nelbo(m, x, samples=3, seed=2, batch_size=16, bins=1)
    # one bin holds every draw: its share is the estimator's mean, draw for draw
    assert whole["by_time"]["nll_per_token"] == pytest.approx(whole["nll_per_token"], rel=1e-6)  # float32 sums
    assert whole["by_time"]["draws_per_bin"] == [120.0]
    assert nelbo_by_time(m, x, bins=4, samples=3, seed=2, batch_size=16)["draws_per_bin"] == \
        nelbo(m, x, samples=3, seed=2, batch_size=16, bins=4)["by_time"]["draws_per_bin"]
    with pytest.raises(InputError, match="estimator='time'"):
        nelbo(m, x, estimator="count", bins=4)


# ------------------------------------------------------------------------------------------ samplers
class ExactDenoiser(torch.nn.Module):
    """p(x_l | visible tokens) of a small explicit distribution, by enumeration: a denoiser with no error."""

    def __init__(self, probs: np.ndarray):
        super().__init__()
        self.V, self.L = probs.shape[0], probs.ndim
        self.seqs = torch.tensor(list(itertools.product(range(self.V), repeat=self.L)))
        self.p = torch.tensor(probs.reshape(-1), dtype=torch.float64)
        self.config = types.SimpleNamespace(causal=False, vocab_size=self.V + 1, block_size=self.L)

    def forward(self, xt, cache=None):
        M = self.V
        consistent = ((self.seqs[None] == xt[:, None]) | (xt[:, None] == M)).all(-1)  # [B, S]
        w = consistent * self.p[None]
        post = torch.einsum("bs,slv->blv", w, torch.nn.functional.one_hot(self.seqs, self.V).double())
        logits = torch.log(post / post.sum(-1, keepdim=True) + 1e-30)
        return torch.cat([logits, torch.full(logits.shape[:-1] + (1,), -1e30, dtype=logits.dtype)], -1).float(), None


@pytest.mark.parametrize("method,remasking", [("ancestral", "low_confidence"), ("llada", "random")])
def test_samplers_draw_the_data_distribution_from_an_exact_denoiser(method, remasking):
    rng = np.random.default_rng(0)
    V, L = 3, 3
    probs = rng.dirichlet(np.full(V ** L, 0.7)).reshape((V,) * L)
    model = ExactDenoiser(probs)
    # ancestral with many steps: positions revealed in the same step are drawn independently, so exactness needs
    # steps >> length (here ~0.3 % of samples reveal two at once); llada reveals exactly one per step
    cfg = SamplerConfig(method=method, length=L, tokens_per_step=1, remasking=remasking,
                        steps=1000 if method == "ancestral" else None)
    out = sample(model, cfg, batch_size=6000, seed=1).tokens.numpy()
    idx = (out * V ** np.arange(L)[::-1]).sum(1)
    counts = np.bincount(idx, minlength=V ** L)
    expected = probs.reshape(-1) * len(out)
    keep = expected > 5
    chi2 = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3


def test_low_confidence_remasking_is_not_a_sampler_of_the_distribution():
    # greedy confidence ordering at temperature 0 is deterministic: one sequence, whatever the seed
    model = ExactDenoiser(np.random.default_rng(0).dirichlet(np.ones(27)).reshape(3, 3, 3))
    cfg = SamplerConfig(method="llada", length=3, tokens_per_step=1, temperature=0.0)
    out = sample(model, cfg, batch_size=20, seed=5).tokens
    assert (out == out[0]).all()


def test_prefix_cache_is_exact_for_a_one_layer_model_and_cheaper():
    # with one layer the keys/values of a position depend on its own token only, so caching them is exact
    m = tiny_denoiser(vocab=7, L=24, layers=1, scale=3.0, block="qwen3")
    prompt = torch.tensor([1, 2, 3, 4])
    base = dict(method="llada", length=20, tokens_per_step=2, block_length=5, temperature=0.0)
    a = sample(m, SamplerConfig(**base), batch_size=3, prompt=prompt)
    b = sample(m, SamplerConfig(**base, cache="prefix"), batch_size=3, prompt=prompt)
    assert torch.equal(a.tokens, b.tokens)
    assert a.forward_passes == b.forward_passes == 4 * 3  # 4 blocks of 5, 3 steps each (2 + 2 + 1 tokens)
    assert b.positions_computed < 0.7 * a.positions_computed
    # with two layers the cache is an approximation: it must still finish every position
    m2 = tiny_denoiser(vocab=7, L=24, layers=2, scale=3.0, block="qwen3")
    c = sample(m2, SamplerConfig(**base, cache="prefix"), batch_size=3, prompt=prompt)
    assert (c.tokens < 7).all()


def test_ancestral_cached_steps_skip_passes_when_nothing_changes():
    m = tiny_denoiser(vocab=5, L=16, scale=2.0)
    r = sample(m, SamplerConfig(method="ancestral", length=16, steps=200), batch_size=1)
    assert (r.tokens < 5).all()
    # 200 steps, but a pass only after a step that revealed something: at most one per token
    assert r.forward_passes <= 16


def test_sampler_input_errors():
    with pytest.raises(InputError, match="tokens_per_step=9 is larger than the length 8"):
        SamplerConfig(length=8, tokens_per_step=9)
    with pytest.raises(InputError, match="multiple of block_length"):
        SamplerConfig(length=8, block_length=3)
    m = tiny_denoiser(vocab=5, L=6)
    with pytest.raises(InputError, match="exceeds the model's context"):
        sample(m, SamplerConfig(length=6), prompt=torch.tensor([1]))
    with pytest.raises(InputError, match="needs a causal"):
        sample(m, SamplerConfig(method="ar", length=3), prompt=torch.tensor([1]))
    with pytest.raises(InputError, match="prompt ids"):
        sample(m, SamplerConfig(length=3), prompt=torch.tensor([5]))


# ------------------------------------------------------------------------------------------ data
def test_token_files_are_checked(tmp_path):
    np.save(tmp_path / "empty.npy", np.array([], dtype=np.int64))
    np.save(tmp_path / "float.npy", np.array([0.5, 1.0]))
    np.save(tmp_path / "twod.npy", np.zeros((2, 3), dtype=np.int64))
    np.save(tmp_path / "neg.npy", np.array([1, -2]))
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    for name, msg in [("empty", "is empty"), ("float", "integer token ids"), ("twod", "1-D array"),
                      ("neg", "negative ids"), ("junk", "not a readable .npy"), ("missing", "does not exist")]:
        with pytest.raises(InputError, match=msg):
            load_token_file(tmp_path / f"{name}.npy")
    with pytest.raises(InputError, match="outside the vocabulary"):
        check_tokens(np.array([0, 9]), vocab_size=5)
    d = token_data(np.arange(100) % 7)
    assert d.tokenizer.vocab_size == 7 and len(d.train.tokens) == 90 and len(d.val.tokens) == 10


@pytest.mark.parametrize("estimator", ["time", "count"])
def test_masked_diffusion_objective_learns_a_markov_chain(estimator):
    torch.manual_seed(0)
    src = MarkovSource(vocab_size=4, order=1, concentration=0.2, seed=0)
    toks = torch.from_numpy(src.sample(20_000, seed=0).astype(np.int64))
    m = LoopedLM(denoiser_config(4, block_size=16, d_model=32, n_head=2, layers=2, block="qwen3"))
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    obj, g = MaskedDiffusion(var_len_prob=0.1, estimator=estimator), torch.Generator().manual_seed(0)
    for _ in range(300):
        ix = torch.randint(0, len(toks) - 17, (32,), generator=g)
        x = torch.stack([toks[i:i + 16] for i in ix])
        obj(m, x, x, g).backward()
        opt.step()
        opt.zero_grad()
    windows = torch.from_numpy(src.sample(16 * 200, seed=9).astype(np.int64)).view(200, 16)
    r = nelbo(m, windows, samples=4)
    h_window = src.block_entropy(16) / 16
    assert r["nll_per_token"] > h_window - 3 * r["stderr"]  # a bound: never below the truth
    pi = src.stationary
    unigram = float(-(pi * np.log(pi)).sum())  # what a model ignoring the context would reach
    assert r["nll_per_token"] < unigram - 0.1  # it learned to use the neighbours


# ------------------------------------------------------------------------------------------ runs and CLI
TINY = ["--data", "markov", "--d-model", "16", "--layers", "1", "--n-head", "2", "--block-size", "16",
        "--batch-size", "8", "--threads", "1", "--no-progress"]


def _weights(folder):
    from paradigmlab.looped.train import read_checkpoint

    return read_checkpoint(folder)["model"]


def test_resumed_old_run_reports_its_models_rope_base(tmp_path):
    import json

    from paradigmlab.diffusion.experiments import RunSpec, train_run

    shape = dict(data="markov", kind="mdm", steps=4, d_model=16, layers=1, n_head=2, block_size=16, batch_size=4,
                 eval_every=2)
    train_run(RunSpec(**shape, rope_base=1e6), tmp_path, progress=False, threads=1, stop_at=2)
    record = json.loads((tmp_path / "run.json").read_text())
    del record["spec"]["rope_base"]  # a run recorded before the field existed, when the model's default was 1e6
    (tmp_path / "run.json").write_text(json.dumps(record))
    done = train_run(RunSpec(**shape), tmp_path, progress=False, threads=1)  # today's default: 1e4
    assert done["steps_done"] == 4
    assert done["spec"]["rope_base"] == done["model"].config.rope_base == 1e6


def test_cli_train_resumes_bit_exactly_after_kill_9(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from paradigmlab.looped.train import read_checkpoint

    args = ["-m", "paradigmlab.cli", "diffusion", "train", "--kind", "mdm", "--steps", "200", *TINY, "--out"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, *args, str(killed)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        ckpt = killed / "ckpt.pt"
        try:
            if ckpt.exists() and read_checkpoint(ckpt)["result"]["steps_done"] >= 40:
                break
        except ValueError:  # caught mid-write of the first checkpoint: atomic, so only a missing file
            pass
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "result.json").exists()
    assert 40 <= read_checkpoint(killed / "ckpt.pt")["result"]["steps_done"] < 200
    assert subprocess.run([sys.executable, *args, str(killed)], stdout=subprocess.DEVNULL).returncode == 0
    whole = tmp_path / "whole"
    assert subprocess.run([sys.executable, *args, str(whole)], stdout=subprocess.DEVNULL).returncode == 0
    a, b = _weights(killed), _weights(whole)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_evaluate_and_generate_json(tmp_path, capsys):
    import json

    from paradigmlab.cli import main

    for kind in ("mdm", "ar"):
        assert main(["diffusion", "train", "--kind", kind, "--steps", "20", *TINY, "--out", str(tmp_path / kind)]) == 0
    capsys.readouterr()
    src = MarkovSource(16, 2, 0.25, 0)
    np.save(tmp_path / "held.npy", src.sample(2000, seed=5))
    for kind in ("mdm", "ar"):
        assert main(["diffusion", "evaluate", str(tmp_path / kind), "--data", str(tmp_path / "held.npy"),
                     "--samples", "2", "--json", "-"]) == 0
        r = json.loads(capsys.readouterr().out)
        assert r["kind"] == kind and r["nll_per_token"] > 0 and "estimator" in r
        assert ("NELBO" in r["estimator"]) == (kind == "mdm")
    assert main(["diffusion", "evaluate", str(tmp_path / "mdm"), "--data", str(tmp_path / "held.npy"),
                 "--samples", "2", "--estimator", "count", "--json", "-"]) == 0
    assert "|M| ~ U{1..L}" in json.loads(capsys.readouterr().out)["estimator"]
    assert main(["diffusion", "generate", str(tmp_path / "mdm"), "--length", "8", "--tokens-per-step", "2",
                 "--block-length", "4", "--cache", "prefix", "--batch-size", "2", "--json", "-"]) == 0
    g = json.loads(capsys.readouterr().out)
    assert len(g["tokens"]) == 2 and len(g["tokens"][0]) == 8 and g["cost"]["forward_passes"] == 4
    assert main(["diffusion", "generate", str(tmp_path / "ar"), "--prompt", "1 2 3", "--length", "5", "--json", "-"]) == 0
    assert len(json.loads(capsys.readouterr().out)["tokens"][0]) == 5


def test_cli_bad_input_is_a_clear_error(tmp_path, capsys):
    from paradigmlab.cli import main

    assert main(["diffusion", "train", "--kind", "mdm", "--steps", "10", *TINY, "--out", str(tmp_path / "m")]) == 0
    capsys.readouterr()
    np.save(tmp_path / "empty.npy", np.array([], dtype=np.int64))
    np.save(tmp_path / "floats.npy", np.array([0.5, 1.5]))
    np.save(tmp_path / "big.npy", np.array([1, 2, 99] * 40))
    cases = [(["diffusion", "train", "--data", str(tmp_path / "empty.npy"), "--steps", "1", "--out", str(tmp_path / "e")],
              "is empty"),
             (["diffusion", "train", "--data", str(tmp_path / "floats.npy"), "--steps", "1", "--out", str(tmp_path / "f")],
              "integer token ids"),
             (["diffusion", "evaluate", str(tmp_path / "m"), "--data", str(tmp_path / "big.npy")],
              "outside the checkpoint's vocabulary of 16"),
             (["diffusion", "generate", str(tmp_path / "m"), "--length", "8", "--tokens-per-step", "9"],
              "tokens_per_step=9 is larger than the length 8"),
             (["diffusion", "generate", str(tmp_path / "m"), "--length", "40"], "exceeds the model's context"),
             (["diffusion", "train", "--data", "nosuch", "--steps", "1", "--out", str(tmp_path / "n")], "--data must be"),
             (["diffusion", "train", *TINY, "--kind", "ar", "--steps", "10", "--out", str(tmp_path / "m")],
              "other settings")]
    for argv, msg in cases:
        assert main(argv) == 2, argv
        assert msg in capsys.readouterr().err, argv


def test_model_shape_follows_the_budget_and_the_data():
    from paradigmlab.diffusion import experiments as ex

    first = dict(zip(ex.SHAPE_KEYS, ex.SHAPES[0]))
    assert ex.choose_shape(1e4, 60, 10 ** 6, 16, 128) == first  # a minute: the smallest
    assert ex.choose_shape(1e7, 3600, 10 ** 9, 16, 128)["d_model"] > first["d_model"]  # an hour on a lot of data
    assert ex.choose_shape(1e7, 3600, 10 ** 5, 16, 128) == first  # the same hour on little data: small again
    corpus = ex.load_corpus("markov")
    mc, _, _ = ex.plan(ex.RunSpec(data="markov", steps=5, d_model=32, layers=1, n_head=2), corpus)
    assert mc.head_dim == 16 and mc.rope_base == ex.ROPE_BASE  # a shape by hand: heads of d / n_head
    mc, _, _ = ex.plan(ex.RunSpec(data="markov", steps=5, d_model=32, layers=1, n_head=2, head_dim=8), corpus)
    assert mc.head_dim == 8
    with pytest.raises(InputError, match="head_dim"):
        ex.RunSpec(data="markov", steps=5, head_dim=0)


def test_paired_study_and_verdict_render(tmp_path):
    from paradigmlab.diffusion import experiments as ex
    from paradigmlab.diffusion import reproduce as rp

    spec = {"d_model": 16, "layers": 1, "n_head": 2, "block_size": 16, "batch_size": 8}
    for kind in ("ar", "mdm"):
        ex.train_run(ex.RunSpec(data="markov", kind=kind, steps=30, **spec), tmp_path / kind, progress=False, threads=1)
    study = ex.sampler_study(tmp_path / "mdm", tmp_path / "ar", "markov", length=8, prompt_length=4, n_samples=16,
                             tokens_per_step=(1, 2, 4), repeats=1, threads=1)
    labels = [r["label"] for r in study["rows"]]
    # LLaDA's blocks are a quarter of the length (2 tokens here): 4 tokens per step do not fit in one
    assert labels[0] == "AR + KV cache" and "LLaDA + cache, 2/step" in labels and "LLaDA, 4/step" not in labels
    ll = next(r for r in study["rows"] if r["label"] == "LLaDA, 2/step")
    assert ll["passes_per_token"] == pytest.approx(4 / 8)  # 4 blocks of 2 tokens, one pass each
    proj = ex.projection(study)
    big = proj["models"]["llama-3-8b"]
    assert big[0]["speedup_vs_ar"]["1"] == pytest.approx(1.0)
    md = rp.verdict_markdown(study, proj)
    assert "claim" in md and "8B" in md
    # the Markov study also runs each uncached diffusion sampler on the source's exact denoiser
    exact = {r["label"]: r["exact_denoiser"] for r in study["rows"] if "exact_denoiser" in r}
    assert set(exact) == {lb for lb in labels if not lb.startswith(("AR", "LLaDA + cache"))}
    assert "exact denoiser" in rp.study_markdown(study) and "samplers alone" in md
    ev = ex.evaluate_run(tmp_path / "mdm", "markov", samples=2, max_windows=16)
    b = ev["by_time"]
    assert len(b["model"]) == len(b["exact"]) == 10 and b["model_nelbo"] > b["exact_nelbo"]
    rp.plot_study(study, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_ddp_two_gloo_processes_equal_grad_accumulation(tmp_path):
    """torchrun with 2 CPU processes == 1 process accumulating 2 micro-batches, for the diffusion objective
    (its masks and times are drawn per (seed, step, micro-batch), as the batches are)."""
    import json
    import os
    import subprocess
    import sys
    from dataclasses import replace

    from paradigmlab.diffusion import experiments as ex
    from paradigmlab.looped.train import TrainConfig, load_checkpoint, train

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "paradigmlab.cli", "diffusion", "train", "--kind", "mdm", "--steps", "3", "--batch-size", "4",
           *TINY[:TINY.index("--threads")], "--no-progress", "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp_model, state = load_checkpoint(tmp_path / "ddp")
    run = json.loads((tmp_path / "ddp" / "run.json").read_text())
    tc = replace(TrainConfig(**run["train_config"]), grad_accum=2, progress=False, out_dir=None)
    corpus = ex.load_corpus("markov")
    single = train(ddp_model.config, tc, corpus.data, objective=ex.objective_for("mdm", 0.01))
    assert state["result"]["tokens_seen"] == single.tokens_seen
    for p, q in zip(ddp_model.parameters(), single.model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_cost_model_denoise_step_is_bidirectional_with_all_logits():
    from paradigmlab.costmodel.transformer import decoder_costs, load_model

    cfg = load_model("llama-3-8b")
    T = 512
    pre, den = decoder_costs(cfg, "prefill", 1, T), decoder_costs(cfg, "denoise", 1, T)
    att = lambda c: sum(op.flops for op in c.ops if op.name.endswith("attention"))  # noqa: E731
    head = lambda c: next(op.flops for op in c.ops if op.name == "lm_head")  # noqa: E731
    assert att(den) / att(pre) == pytest.approx(T * T / (T * (T + 1) / 2))  # every pair, not the causal half
    assert head(den) == pytest.approx(T * head(pre))  # logits at every position, not the last one
    cached = decoder_costs(cfg, "denoise", 1, 128, cached=384)
    assert att(cached) / att(den) == pytest.approx(128 * 512 / (512 * 512))
    with pytest.raises(ValueError, match="only with phase 'denoise'"):
        decoder_costs(cfg, "prefill", 1, 128, cached=4)


def test_markov_corpus_size_is_a_data_option():
    from paradigmlab.diffusion.experiments import eval_tokens, load_corpus, markov_size

    assert markov_size("markov", 5) == 5 and markov_size("markov:200_000") == 200_000 and markov_size("both") is None
    small = load_corpus("markov:20000")
    assert len(small.data.train.tokens) + len(small.data.val.tokens) == 20_000
    assert small.source is not None and small.name == "markov"
    tokens, source, _ = eval_tokens("markov:20000", small.name, small.vocab_size, max_tokens=1000)
    assert source is not None and len(tokens) == 1000  # the same chain's held-out stream, whatever the size
    for bad in ("markov:", "markov:ten", "markov:10"):
        with pytest.raises(InputError, match="integer >= 10000"):
            load_corpus(bad)
