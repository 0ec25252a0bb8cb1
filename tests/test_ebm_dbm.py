"""SparseDBM: exact-gradient agreement, clamped read-out, save/load, bit-exact resume, input checks."""

import numpy as np
import pytest

from paradigmlab.data.niazi2024 import load_niazi2024
from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.ebm.training import TrainConfig, Trainer

# a tiny DBM: p-bits 0-2 visible, 3-4 one label copy (2 classes), 5-7 hidden
EDGES = np.array([[0, 5], [1, 5], [1, 6], [2, 6], [2, 7], [0, 7], [3, 5], [3, 6], [4, 6], [4, 7],
                  [5, 6], [6, 7], [0, 1], [3, 4]])


def tiny(seed=0, scale=0.8, backend="numba"):
    rng = np.random.default_rng(seed)
    return SparseDBM(8, EDGES, visible=[0, 1, 2], labels=[[3, 4]], weights=rng.normal(0, scale, len(EDGES)),
                     h=rng.normal(0, 0.3, 8), backend=backend)


def _all_states(n):
    idx = np.arange(1 << n)
    return ((idx[:, None] >> np.arange(n)) & 1) * 2 - 1


def _exact_stats(m: SparseDBM, states: np.ndarray):
    """Boltzmann-weighted <m_i m_j> per edge and <m_i> over the given state list."""
    ising = m.to_ising()
    logp = -ising.energy(states)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    e = m.coupling.edges
    return p @ (states[:, e[:, 0]] * states[:, e[:, 1]]), p @ states


def _model_states(m: SparseDBM):
    """Every state the model can be in: all of them, or those whose labels are one class's one-hot pattern."""
    allS = _all_states(m.num_nodes)
    if m.label_block == "independent":
        return allS
    one_hot = (allS[:, m.labels.ravel()][:, None, :] == m.label_spins(np.arange(m.num_classes))[None]).all(2)
    return allS[one_hot.any(1)]


def exact_gradient(m: SparseDBM, images, y):
    """Exact d log p(x, y) / d(weights, h), averaged over the batch, by enumeration."""
    allS = _model_states(m)
    neg = _exact_stats(m, allS)
    clamp = np.r_[m.visible, m.labels.ravel()]
    pos_w, pos_h = 0.0, 0.0
    for x, lab in zip(images, y):
        want = np.r_[x, m.label_spins([lab])[0]]
        sub = allS[np.all(allS[:, clamp] == want, axis=1)]
        w, h = _exact_stats(m, sub)
        pos_w, pos_h = pos_w + w / len(y), pos_h + h / len(y)
    return pos_w - neg[0], pos_h - neg[1]


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_sampled_gradient_matches_exact(backend):
    m = tiny(backend=backend)
    images = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, -1]])
    y = np.array([0, 1, 1])
    reps = 1500 if backend == "numba" else 600
    gw_exact, gh_exact = exact_gradient(m, images, y)
    assert np.abs(gw_exact).max() > 0.3  # a non-trivial target
    gw, gh = m.gradient(np.repeat(images, reps, 0), np.repeat(y, reps), num_chains=3 * reps, sweeps=20, seed=1)
    tol = 5 * np.sqrt(2 / (3 * reps))  # ~5 sigma for a difference of two +-1 averages
    assert np.abs(gw - gw_exact).max() < tol
    assert np.abs(gh - gh_exact).max() < tol
    # the comparison can fail: a gradient with one term's sign flipped is far away
    assert np.abs(gw + gw_exact).max() > tol


def tiny_softmax(seed=3):
    """Two label copies of two classes (p-bits 3, 4 and 8, 9), coupled to each other and to the hidden layer."""
    rng = np.random.default_rng(seed)
    edges = np.r_[EDGES, [[8, 5], [9, 7], [8, 3], [9, 4], [8, 9], [2, 8]]]
    return SparseDBM(10, edges, visible=[0, 1, 2], labels=[[3, 4], [8, 9]], weights=rng.normal(0, 0.5, len(edges)),
                     h=rng.normal(0, 0.3, 10), label_block="softmax")


def test_softmax_label_block_gradient_and_readout_match_exact():
    """A one-hot label drawn as one categorical variable: sampled gradient and p(y|x) equal enumeration over
    the states whose labels are a class pattern."""
    m = tiny_softmax()
    images = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, -1]])
    y = np.array([0, 1, 1])
    reps = 1500
    gw_exact, gh_exact = exact_gradient(m, images, y)
    gw, gh = m.gradient(np.repeat(images, reps, 0), np.repeat(y, reps), num_chains=3 * reps, sweeps=20, seed=1)
    tol = 5 * np.sqrt(2 / (3 * reps))
    assert np.abs(gw_exact).max() > 0.3
    assert np.abs(gw - gw_exact).max() < tol and np.abs(gh - gh_exact).max() < tol
    # the same model with independent label p-bits has another gradient, and the test tells them apart
    m.label_block = "independent"
    assert np.abs(exact_gradient(m, images, y)[0] - gw_exact).max() > tol
    m.label_block = "softmax"
    # read-out: mean of p(y | rest) over the chain -> the exact posterior p(y | x)
    states = _model_states(m)
    logp = -m.to_ising().energy(states)
    scores = m.label_scores(np.repeat(images, 1000, 0), num_samples=50, sweeps_per_sample=2, burn_in=50, seed=3)
    scores = scores.reshape(len(images), 1000, 2).mean(1)  # 1,000 chains per image (errors ~0.01 measured)
    for x, sc in zip(images, scores):
        sub, lp = states[(states[:, m.visible] == x).all(1)], logp[(states[:, m.visible] == x).all(1)]
        p = np.exp(lp - lp.max())
        cls = (sub[:, m.labels[0]] == 1).argmax(1)
        want = np.bincount(cls, weights=p, minlength=2) / p.sum()
        assert np.abs(sc - want).max() < 0.03, (sc, want)
    assert np.abs(scores[:, 0] - 0.5).max() > 0.1  # non-trivial posteriors


def test_rao_blackwell_moments_equal_their_definition():
    """The numba moments equal the plain formula: <m_i tanh(b I_j) + tanh(b I_i) m_j>/2, clamped p-bits as sampled."""
    from paradigmlab.ebm.engine import rao_blackwell_moments

    m = SparseDBM.from_hardware("chimera", 3, num_nodes=40, num_visible=12, num_classes=2, label_copies=2, seed=2,
                                init_scale=0.5)
    m.h = np.random.default_rng(0).normal(0, 0.3, m.num_nodes)
    S = m.random_states(37, 5)
    clamped = m.clamped_nodes(True, False)
    corr, mean = rao_blackwell_moments(m.coupling, m.weights, m.h, 0.7, S, clamped)
    T = np.tanh(0.7 * (S @ m.J().toarray() + m.h))  # J symmetric
    T[:, clamped] = S[:, clamped]
    a, b = m.coupling.edges.T
    want = 0.5 * (S[:, a] * T[:, b] + T[:, a] * S[:, b]).mean(0)
    assert np.allclose(corr, want, atol=1e-5) and np.allclose(mean, T.mean(0), atol=1e-5)
    assert np.abs(want).max() > 0.1  # non-trivial


def test_readout_and_generation_follow_couplings():
    # label copy k, class c is coupled to pixel c; pixel pattern tells the class
    m = SparseDBM(6, [[0, 3], [1, 4], [2, 5], [3, 4], [4, 5]], visible=[0, 1, 2], labels=[[3, 4, 5]],
                  weights=[2.0, 2.0, 2.0, 0.0, 0.0], h=np.zeros(6))
    images = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, -1]])
    assert np.array_equal(m.predict(images, num_samples=20, seed=3), [0, 1, 2, 0])
    gen = m.generate([2, 0], num_sweeps=60, num_samples=40, seed=1)
    assert gen.shape == (2, 3) and gen[0].argmax() == 2 and gen[1].argmax() == 0


def test_save_load_and_from_arrays(tmp_path):
    m = tiny()
    path = m.save(tmp_path / "m.npz")
    back = SparseDBM.load(path)
    assert np.array_equal(back.weights, m.weights) and np.array_equal(back.h, m.h)
    assert all(np.array_equal(a, b) for a, b in zip(back.groups, m.groups))
    again = SparseDBM.from_arrays(m.J().toarray(), m.h, visible=m.visible, labels=m.labels)
    assert np.allclose(again.J().toarray(), m.J().toarray())
    x = np.array([[1, -1, 1], [-1, 1, 1]])
    assert np.array_equal(again.label_scores(x, seed=2), m.label_scores(x, seed=2))


def test_bad_inputs():
    m = tiny()
    with pytest.raises(ValueError, match="-1/\\+1"):
        m.predict(np.array([[0, 1, 1]]))
    with pytest.raises(ValueError, match="shape"):
        m.predict(np.ones((2, 5)))
    with pytest.raises(ValueError, match="distinct"):
        SparseDBM(8, EDGES, visible=[0, 1, 3], labels=[[3, 4]])
    with pytest.raises(ValueError, match="symmetric"):
        SparseDBM.from_arrays(np.triu(np.ones((8, 8)), 1), np.zeros(8), visible=[0], labels=[[1, 2]])
    with pytest.raises(ValueError, match="labels"):
        Trainer(m, TrainConfig(batch_size=2, num_chains=2, progress=False)).train(np.ones((4, 3)),
                                                                                  np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="nothing is learned"):
        TrainConfig(generative=0.0, discriminative=0.0)


def _train(path, epochs, label_block="independent", **kw):
    m = tiny(seed=5, scale=0.05)
    m.label_block = label_block
    rng = np.random.default_rng(0)
    x = rng.choice([-1, 1], size=(12, 3))
    y = rng.integers(0, 2, 12)
    cfg = TrainConfig(epochs=epochs, batch_size=4, num_chains=6, pos_sweeps=2, neg_sweeps=2, lr=0.05,
                      checkpoint=str(path), checkpoint_every=2, progress=False, **kw)
    return Trainer(m, cfg).train(x, y, x, y)


@pytest.mark.parametrize("kw", [dict(discriminative=0.0), dict(discriminative=1.0),
                                dict(discriminative=1.0, generative=0.0),
                                dict(discriminative=1.0, common_random_numbers=True),
                                dict(discriminative=1.0, common_random_numbers=True, label_block="softmax",
                                     label_lr_scale=0.5)])
def test_resume_is_bit_exact(tmp_path, kw):
    full = _train(tmp_path / "full.npz", 4, **kw)  # 12 updates straight
    _train(tmp_path / "cut.npz", 2, **kw)  # interrupted after 6 updates
    resumed = _train(tmp_path / "cut.npz", 4, **kw)  # picks up at update 6
    assert full.update == resumed.update == 12
    assert np.array_equal(full.model.weights, resumed.model.weights)
    assert np.array_equal(full.model.h, resumed.model.h)
    assert np.array_equal(full.neg.states, resumed.neg.states)
    if full.cond is not None:
        assert np.array_equal(full.cond.states, resumed.cond.states)
    with pytest.raises(ValueError, match="other settings"):
        _train(tmp_path / "cut.npz", 4, **kw, weight_decay=0.1)


def test_pure_discriminative_training_skips_the_free_phase(tmp_path):
    t = _train(tmp_path / "a.npz", 2, discriminative=1.0, generative=0.0)
    s = t.summary(12)
    assert s["chains"] == 8 and s["sweeps_per_update"] == 4  # pos + cond chains, no free chains
    assert t.neg.kernel is None  # the free chains never ran
    n, L = t.model.num_nodes, t.model.labels.size  # 6 updates x 2 sweeps x 4 chains, 3 pixels clamped
    assert s["pbit_updates"] == 6 * 2 * 4 * ((n - 3 - L) + (n - 3))
def test_common_random_numbers_cancel_where_the_label_does_not_reach(tmp_path):
    """With common random numbers the conditional phase replays the data phase: zero gradient when labels are decoupled."""
    m = tiny(seed=5, scale=0.05)
    lab = m.labels.ravel()
    touches = np.isin(m.coupling.edges, lab).any(1)
    m.weights[touches] = 0.0  # the label p-bits see nothing and nothing sees them
    rng = np.random.default_rng(0)
    x, y = rng.choice([-1, 1], size=(12, 3)), rng.integers(0, 2, 12)
    kw = dict(epochs=1, batch_size=4, num_chains=6, pos_sweeps=3, neg_sweeps=3, lr=0.05, momentum=0.0,
              generative=0.0, discriminative=1.0, data_biases=False, progress=False)
    before = m.weights.copy()
    t = Trainer(m, TrainConfig(**kw, common_random_numbers=True))
    t.step(x, y)
    assert np.array_equal(m.weights[~touches], before[~touches])  # pos and cond chains agree off the labels
    m.weights = before.copy()
    t = Trainer(m, TrainConfig(**kw))
    t.step(x, y)
    assert not np.array_equal(m.weights[~touches], before[~touches])  # independent chains: sampling noise


def test_hardware_graphs():
    m = SparseDBM.niazi2024()
    assert m.num_nodes == 4264 and m.visible.size == 784 and m.labels.shape == (5, 10)
    assert len(m.groups) <= 4 or "stand-in" in m.source
    c = SparseDBM.from_hardware("chimera", 4, num_visible=20, num_classes=2, label_copies=2, seed=1)
    assert c.num_nodes == 128 and c.coupling.num_edges == 352 and len(c.groups) == 2


def test_label_copies_on_hidden_pbits():
    g = load_niazi2024()
    more = g.with_label_copies(20, seed=3)
    assert more.labels.shape == (20, 10) and np.array_equal(more.labels[:5], g.labels)
    used = np.r_[more.visible, more.labels.ravel()]
    assert np.unique(used).size == used.size == 784 + 200  # extra copies only on former hidden p-bits
    assert np.array_equal(more.labels, g.with_label_copies(20, seed=3).labels)  # seeded placement
    assert not np.array_equal(more.labels, g.with_label_copies(20, seed=4).labels)
    assert np.array_equal(g.with_label_copies(2).labels, g.labels[:2])
    m = SparseDBM.niazi2024(label_copies=20, placement_seed=3)
    assert m.num_nodes == 4264 and np.array_equal(m.labels, more.labels)
    with pytest.raises(ValueError, match="label copies"):
        g.with_label_copies((4264 - 784) // 10 + 1)
    with pytest.raises(ValueError, match="label copies"):
        g.with_label_copies(0)


def test_checkpoint_of_another_label_placement_is_refused(tmp_path):
    _train(tmp_path / "a.npz", 2)
    swapped = SparseDBM(8, EDGES, visible=[0, 1, 2], labels=[[4, 3]])  # the two label p-bits exchanged
    rng = np.random.default_rng(0)  # the data of _train
    x = rng.choice([-1, 1], size=(12, 3))
    y = rng.integers(0, 2, 12)
    cfg = TrainConfig(epochs=4, batch_size=4, num_chains=6, pos_sweeps=2, neg_sweeps=2, lr=0.05,
                      checkpoint=str(tmp_path / "a.npz"), progress=False)
    with pytest.raises(ValueError, match="placement"):
        Trainer(swapped, cfg).train(x, y)
    softmax = tiny(seed=5, scale=0.05)
    softmax.label_block = "softmax"
    with pytest.raises(ValueError, match="independent label p-bits, the model softmax"):
        Trainer(softmax, cfg).train(x, y)


def test_softmax_label_block_options_and_fields(tmp_path):
    with pytest.raises(ValueError, match="label_block"):
        SparseDBM(8, EDGES, visible=[0, 1, 2], labels=[[3, 4]], label_block="onehot")
    with pytest.raises(ValueError, match="label_lr_scale"):
        TrainConfig(label_lr_scale=0.0)
    m = tiny_softmax()
    assert SparseDBM.load(m.save(tmp_path / "m.npz")).label_block == "softmax"
    # the numba kernel's fast local fields equal the generic ones (from get_states) and the definition
    from paradigmlab.ebm.engine import open_chains

    states = m.random_states(7, 1)
    fast = open_chains("numba", m.J(), m.h, m.groups, states, 0)
    slow = open_chains("reference", m.J(), m.h, m.groups, states, 0)
    want = states @ m.J().toarray()[:, [3, 8]] + m.h[[3, 8]]
    assert np.allclose(fast.local_fields([3, 8]), want, atol=1e-5)
    assert np.allclose(slow.local_fields([3, 8]), want)


def test_label_weight_decay_applies_to_the_label_weights_only():
    """One update from zero velocity: the label weights differ by exactly lr * (weight_decay - label_weight_decay) * J."""
    rng = np.random.default_rng(0)
    x, y = rng.choice([-1, 1], size=(4, 3)), rng.integers(0, 2, 4)
    after = {}
    for lwd in (None, 0.0):
        m = tiny(seed=5)
        start = m.weights.copy()
        cfg = TrainConfig(epochs=1, batch_size=4, num_chains=3, pos_sweeps=2, neg_sweeps=2, lr=0.1,
                          weight_decay=0.5, label_weight_decay=lwd, data_biases=False, progress=False)
        t = Trainer(m, cfg)
        t.step(x, y)
        after[lwd] = m.weights
    touches = np.isin(m.coupling.edges, m.labels.ravel()).any(1)
    assert touches.any() and (~touches).any()
    np.testing.assert_array_equal(after[None][~touches], after[0.0][~touches])
    np.testing.assert_allclose(after[0.0][touches] - after[None][touches], 0.1 * 0.5 * start[touches], rtol=1e-12)
    with pytest.raises(ValueError, match="label_weight_decay"):
        TrainConfig(label_weight_decay=-0.1)


@pytest.mark.parametrize("kw", [dict(discriminative=1.0, common_random_numbers=True, label_block="softmax"),
                                dict(discriminative=1.0)])
def test_phases_in_two_threads_give_the_same_run(tmp_path, kw):
    one = _train(tmp_path / "one.npz", 2, phase_threads=1, **kw)
    two = _train(tmp_path / "two.npz", 2, phase_threads=2, **kw)
    assert one._threads == 1 and two._threads == 2 and two._pool is not None  # the threaded path ran
    for a, b in [(one.model.weights, two.model.weights), (one.model.h, two.model.h),
                 (one.neg.states, two.neg.states), (one.cond.states, two.cond.states)]:
        assert np.array_equal(a, b)
    _train(tmp_path / "one.npz", 3, phase_threads=2, **kw)  # the thread count may change on resume
    with pytest.raises(ValueError, match="phase_threads"):
        TrainConfig(phase_threads=0)


def test_fit_label_couplers_writes_the_fitted_logistic_regression_onto_the_graph():
    """The model's softmax logits (label fields summed over copies + self-energy) on the fit's features
    reproduce the fitted regression's loss exactly; only couplers at label p-bits and label biases change."""
    from paradigmlab.ebm.readout import fit_label_couplers, mean_activity

    m = tiny_softmax()
    rng = np.random.default_rng(1)
    x, y = rng.choice([-1, 1], size=(30, 3)), rng.integers(0, 2, 30)
    before_w, before_h = m.weights.copy(), m.h.copy()
    res = fit_label_couplers(m, x, y, l2=0.0, seed=4)
    L = m.labels.ravel()
    touches = np.isin(m.coupling.edges, L).any(1)
    assert np.array_equal(m.weights[~touches], before_w[~touches])
    assert not np.array_equal(m.weights[touches], before_w[touches])
    free = np.setdiff1d(np.arange(m.num_nodes), L)
    assert np.array_equal(m.h[free], before_h[free])
    F = mean_activity(tiny_softmax(), x, seed=4)  # the fit's features: the model before the fit, same seed
    J = m.J().toarray()
    nonlab = np.setdiff1d(np.arange(m.num_nodes), L)
    fields = (J[np.ix_(L, nonlab)] @ F[:, nonlab].T).T + m.h[L]  # external fields of the label p-bits
    per_class = fields.reshape(len(x), *m.labels.shape).sum(1)
    logits = m.beta * (2 * per_class + m.label_energy_terms()[1])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert -logp[np.arange(len(y)), y].mean() == pytest.approx(res["train_loss"], rel=1e-9)
    with pytest.raises(ValueError, match="softmax"):
        fit_label_couplers(tiny(), x, y)


class _CountingKernel:
    """Stands in for a kernel: counts sweeps; a read returns the count."""

    def __init__(self):
        self.sweeps = 0

    def run(self, betas):
        self.sweeps += len(betas)


def test_average_over_reads_reads_where_the_schedule_says():
    from paradigmlab.pbit.reads import average_over_reads
    from paradigmlab.pbit.schedules import SamplingSchedule

    sched = SamplingSchedule(burn_in=7, num_samples=4, sweeps_per_sample=3)
    k = _CountingKernel()
    assert average_over_reads(k, sched, 1.0, lambda kern: np.array([kern.sweeps])) == [sched.read_after().mean()]
    assert k.sweeps == sched.num_sweeps == 19
    # with a block drawn before every sweep, a read is the draw before sweeps 7, 10, 13, 16
    k = _CountingKernel()
    seen = []
    got = average_over_reads(k, sched, 1.0, read=lambda d: np.array([d]),
                             before_sweep=lambda kern: seen.append(kern.sweeps) or kern.sweeps)
    assert seen == list(range(19)) and got == pytest.approx([np.mean([7, 10, 13, 16])])


def test_read_out_schedule_object_and_keywords_agree():
    from paradigmlab.ebm.dbm import LABEL_READOUT
    from paradigmlab.ebm.readout import ACTIVITY_READOUT, mean_activity
    from paradigmlab.pbit.schedules import SamplingSchedule

    x = np.array([[1, -1, 1], [-1, 1, 1], [1, 1, -1]])
    for m in (tiny(), tiny_softmax()):
        assert np.array_equal(m.label_scores(x, seed=2), m.label_scores(x, seed=2, schedule=LABEL_READOUT))
        s = SamplingSchedule(burn_in=3, num_samples=5, sweeps_per_sample=2)
        assert np.array_equal(m.label_scores(x, seed=1, schedule=s),
                              m.label_scores(x, burn_in=3, num_samples=5, sweeps_per_sample=2, seed=1))
        assert not np.array_equal(m.label_scores(x, seed=1, schedule=s), m.label_scores(x, seed=1))
        assert np.array_equal(mean_activity(m, x, seed=1), mean_activity(m, x, seed=1, schedule=ACTIVITY_READOUT))
        with pytest.raises(ValueError, match="not both"):
            m.label_scores(x, burn_in=3, schedule=s)
    with pytest.raises(ValueError, match="num_samples"):
        tiny().label_scores(x, num_samples=0)


def test_the_shipped_model_loads_and_classifies():
    from paradigmlab.ebm import experiments as ex

    split = ex.load_split()
    r = ex.evaluate_shipped(split, n=100)
    if "skipped" in r:
        pytest.skip(r["skipped"])
    # recorded 90.68% on all 10,000 test images; 100 images leave room for sampling noise, not for a broken model
    assert r["test_images"] == 100 and r["accuracy"] >= 0.8


def test_a_dbm_on_the_ideal_substrate_samples_as_the_reference_kernel():
    """``backend=Substrate()`` runs the emulated kernel: with no knob set it draws exactly the reference
    kernel's states (same seeds), in the read-out and in both phases of the gradient; a knob changes them."""
    from paradigmlab.pbit.substrate import Substrate

    x = np.tile([[1, -1, 1], [-1, -1, 1], [1, 1, -1]], (10, 1))
    y = np.tile([0, 1, 1], 10)
    kw = dict(num_samples=10, sweeps_per_sample=2, burn_in=5, seed=3)
    ref = tiny(backend="reference")
    ideal = tiny(backend=Substrate())
    assert np.array_equal(ideal.label_scores(x, **kw), ref.label_scores(x, **kw))
    for a, b in zip(ideal.gradient(x, y, num_chains=30, sweeps=5, seed=1), ref.gradient(x, y, num_chains=30, sweeps=5, seed=1)):
        assert np.array_equal(a, b)
    coarse = tiny(backend=Substrate(rng_bits=2))
    assert not np.array_equal(coarse.label_scores(x, **kw), ref.label_scores(x, **kw))
    with pytest.raises(ValueError, match="Substrate"):
        tiny(backend="fpga")


def test_quantized_dbm_holds_fixed_point_parameters():
    m = tiny()
    q = m.quantized(3)
    vals = np.abs(np.r_[q.weights, q.h])
    step = np.abs(np.r_[m.weights, m.h]).max() / 3  # 3 bits: codes -3..3, the largest magnitude at code 3
    assert np.allclose(vals / step, np.round(vals / step)) and np.round(vals / step).max() == 3
    assert np.abs(q.weights - m.weights).max() <= step / 2 + 1e-12  # rounding, nothing clipped at the full scale
    assert np.array_equal(q.quantized(3).weights, q.weights)  # on the grid already
    assert not np.array_equal(q.weights, m.weights) and q.backend == m.backend
    clipped = m.quantized(3, scale=step / 4)
    assert np.abs(clipped.weights).max() == pytest.approx(3 * step / 4)  # above the top code: saturated
    with pytest.raises(ValueError, match="scale"):
        m.quantized(3, scale=-1.0)
    for bits in (1, 2.5):  # one bit has no nonzero code; a fraction of a bit is no width
        with pytest.raises(ValueError, match="bits"):
            m.quantized(bits)


def test_dbm_substrate_study_runs_every_knob_on_one_model():
    from types import SimpleNamespace

    from paradigmlab.ebm.experiments import dbm_substrate_study
    from paradigmlab.pbit.experiments import SUBSTRATE_KNOBS
    from paradigmlab.pbit.schedules import SamplingSchedule

    m = tiny()
    before = m.weights.copy()
    split = SimpleNamespace(x_test=np.tile([[1, -1, 1], [-1, -1, 1], [1, 1, -1]], (4, 1)), y_test=np.tile([0, 1, 1], 4))
    r = dbm_substrate_study(m, split, n=12, readout=SamplingSchedule(burn_in=5, num_samples=5, sweeps_per_sample=1),
                            progress=False)
    assert len(r["rows"]) == len(SUBSTRATE_KNOBS) + 3 and r["test_images"] == 12
    kinds = {row["knob"]: row["kernel"] for row in r["rows"]}
    assert kinds["ideal"] == "emulated" and kinds["weights 4 bits"] == "numba" and kinds["tanh LUT 2 bits"] == "emulated"
    assert all(0 <= row["accuracy"] <= 1 and row["stderr"] >= 0 for row in r["rows"])
    assert np.array_equal(m.weights, before) and m.backend == "numba"  # the caller's model is untouched


def test_costly_knobs_flags_drops_beyond_z_standard_errors():
    from paradigmlab.ebm.experiments import costly_knobs

    rows = [{"knob": "ideal", "substrate": {}, "accuracy": 0.90, "stderr": 0.01},
            {"knob": "close", "substrate": {"a": 1}, "accuracy": 0.87, "stderr": 0.01},  # 0.03 < 3 * 0.0141
            {"knob": "far", "substrate": {"a": 2}, "accuracy": 0.80, "stderr": 0.01},
            {"knob": "farther", "substrate": {"a": 3}, "accuracy": 0.30, "stderr": 0.01}]
    got = costly_knobs({"rows": rows})
    assert [r["knob"] for r in got] == ["farther", "far"] and got[0]["drop"] == pytest.approx(0.6)
    assert [r["knob"] for r in costly_knobs({"rows": rows}, z=2.0)] == ["farther", "far", "close"]
