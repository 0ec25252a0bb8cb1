"""The RRAM attractor circuit (paradigmlab.ebm.attractor) against Li et al. Fig. 4a, plain-loop reimplementations
of its physics, and the energy theorem (every switching event lowers E = -V_c by the stated amount)."""

import itertools
import time

import numpy as np
import pytest

from paradigmlab.ebm.attractor import (FIG4A_ATTRACTORS, FIG4A_V, MAX_EXACT_DEVICES, RRAMAttractorNetwork,
                                       all_states, bits_to_states, exact_region, states_to_bits)
from paradigmlab.validate import InputError

SPREAD = {"v_set": 0.15, "v_reset": 0.15, "g_hcs": 0.3, "g_lcs": 0.3}


# --------------------------------------------------------------------------------- plain-loop references
def plain_column(v, g):
    num = den = 0.0
    for vi, gi in zip(v, g):
        num += gi * vi
        den += gi
    return num / den


def plain_eligible(net, state):
    """Which devices would switch, written out device by device (no numpy broadcasting)."""
    g = [net.g_hcs_[i] if state[i] else net.g_lcs_[i] for i in range(len(state))]
    vc = plain_column(net.v, g)
    out = []
    for i, si in enumerate(state):
        u = net.v[i] - vc
        out.append(u <= net.v_reset_[i] if si else u >= net.v_set_[i])
    return out


def plain_relax(net, state):
    """One switch at a time, the most overdriven eligible device first (lowest index on a tie)."""
    state = list(state)
    while True:
        g = [net.g_hcs_[i] if state[i] else net.g_lcs_[i] for i in range(len(state))]
        vc = plain_column(net.v, g)
        best, best_over = None, -np.inf
        for i, si in enumerate(state):
            u = net.v[i] - vc
            over = (net.v_reset_[i] - u) if si else (u - net.v_set_[i])
            if over >= 0 and over > best_over:
                best, best_over = i, over
        if best is None:
            return state
        state[best] = 1 - state[best]


def random_circuit(rng, n, **kw):
    return RRAMAttractorNetwork(rng.uniform(-1.5, 1.5, n), rng.uniform(0.1, 0.6), -rng.uniform(0.1, 0.9),
                                1e-4, 1e-4 / rng.uniform(2, 50), seed=int(rng.integers(1 << 30)), **kw)


# ------------------------------------------------------------------------------------------------ Fig. 4a
def test_fig4a_attractors_at_defaults():
    net = RRAMAttractorNetwork(FIG4A_V)
    assert net.attractors() == list(FIG4A_ATTRACTORS)
    assert all(net.transitions()[a] == a for a in FIG4A_ATTRACTORS)
    assert sum(net.basins().values()) == 16 and set(net.basins()) == set(FIG4A_ATTRACTORS)


def test_fig4a_region_agrees_with_the_network_and_holds_the_defaults():
    rng = np.random.default_rng(4)
    vs, vr = np.sort(rng.uniform(0.05, 1.0, 40)), np.sort(-rng.uniform(0.05, 1.6, 40))
    ratios = np.array([3.0, 10.0, 30.0])
    mask = exact_region(FIG4A_V, FIG4A_ATTRACTORS, vs, vr, ratios)
    assert mask.shape == (3, 40, 40) and mask.any() and not mask.all()
    # every 7th grid point rebuilt as a circuit: the region map and the simulator must agree point by point
    for r, i, j in itertools.product(range(3), range(0, 40, 7), range(0, 40, 7)):
        net = RRAMAttractorNetwork(FIG4A_V, vs[i], vr[j], 1e-4, 1e-4 / ratios[r])
        assert (net.attractors() == list(FIG4A_ATTRACTORS)) == mask[r, i, j], (ratios[r], vs[i], vr[j])
    # the defaults and the lead's hand-checked box (v_set 0.3..0.45, v_reset -0.25..-1.0 at ratio 10)
    assert exact_region(FIG4A_V, FIG4A_ATTRACTORS, [0.35], [-0.75], [10.0]).all()
    assert exact_region(FIG4A_V, FIG4A_ATTRACTORS, np.linspace(0.3, 0.45, 7), np.linspace(-1.0, -0.25, 7), [10]).all()


def test_exact_region_matches_attractors_on_random_circuits():
    rng = np.random.default_rng(11)
    for _ in range(6):
        v = rng.uniform(-1.5, 1.5, 5)
        target = RRAMAttractorNetwork(v, 0.3, -0.5, 1e-4, 1e-5).attractors()
        vs, vr, ratios = rng.uniform(0.05, 1.0, 6), -rng.uniform(0.05, 1.0, 6), rng.uniform(1.5, 40, 2)
        mask = exact_region(v, target, vs, vr, ratios)
        for r, i, j in itertools.product(range(2), range(6), range(6)):
            net = RRAMAttractorNetwork(v, vs[i], vr[j], 1.0, 1.0 / ratios[r])
            assert (net.attractors() == target) == mask[r, i, j]


def test_only_the_conductance_ratio_matters():
    rng = np.random.default_rng(2)
    for _ in range(5):
        v, vs, vr, ratio = rng.uniform(-1, 1, 6), rng.uniform(0.1, 0.5), -rng.uniform(0.1, 0.8), rng.uniform(2, 30)
        nets = [RRAMAttractorNetwork(v, vs, vr, scale * ratio, scale) for scale in (1e-6, 3.7e-5, 1.0, 250.0)]
        assert all(n.attractors() == nets[0].attractors() for n in nets)
        assert all(n.transitions() == nets[0].transitions() for n in nets)
    # and the ratio does matter: at ratio 3 the defaults fall outside the Fig. 4a region (v_set must exceed 0.4)
    assert RRAMAttractorNetwork(FIG4A_V, 0.35, -0.75, 3e-5, 1e-5).attractors() != list(FIG4A_ATTRACTORS)


# ------------------------------------------------------------------------------------------------- physics
def test_attractors_are_exactly_the_states_with_no_eligible_device():
    rng = np.random.default_rng(5)
    for _ in range(8):
        net = random_circuit(rng, 6, d2d=SPREAD)
        states = all_states(6)
        plain = np.array([plain_eligible(net, s) for s in states])
        assert np.array_equal(net.eligible(states), plain)
        assert net.attractors() == [b for b, e in zip(states_to_bits(states), plain) if not any(e)]


def test_run_matches_a_plain_loop_and_stays_put_on_attractors():
    rng = np.random.default_rng(6)
    for _ in range(12):
        net = random_circuit(rng, 8, d2d=SPREAD)
        ends = net.run(all_states(8))
        assert np.array_equal(ends, [plain_relax(net, s) for s in all_states(8)])
        assert net.is_stable(ends).all()
        att = bits_to_states(net.attractors())
        for order in ("overdrive", "random"):
            net.order = order
            final, trace = net.run(att, seed=1, return_path=True)
            assert np.array_equal(final, att) and trace.device.size == 0


def test_every_switching_event_lowers_energy_by_the_formula():
    rng = np.random.default_rng(7)
    checked = 0
    for k in range(30):
        order = ("overdrive", "random")[k % 2]
        net = random_circuit(rng, int(rng.integers(3, 10)), d2d=SPREAD, c2c=SPREAD, order=order)
        starts = rng.integers(0, 2, (200, net.n_devices_))
        final, tr = net.run(starts, seed=k, return_path=True)
        delta = tr.conductance_after - tr.conductance_before  # > 0 for a set, < 0 for a reset
        predicted = -delta * tr.voltage / (tr.total_conductance + delta)
        np.testing.assert_allclose(tr.energy_after - tr.energy_before, predicted, rtol=1e-9, atol=1e-15)
        sets, resets = tr.kind == 1, tr.kind == -1
        assert np.all(delta[sets] > 0) and np.all(delta[resets] < 0)
        assert np.all(tr.voltage[sets] >= tr.threshold[sets]) and np.all(tr.threshold[sets] > 0)
        assert np.all(tr.voltage[resets] <= tr.threshold[resets]) and np.all(tr.threshold[resets] < 0)
        drop = tr.energy_before - tr.energy_after
        bound = np.abs(delta) * np.abs(tr.threshold) / (tr.total_conductance + delta)
        assert np.all(drop > 0) and np.all(drop >= bound * (1 - 1e-12))
        # V_c only rises, so u_i only falls: a device may set and later reset, never reset and then set
        # again, so no run takes more than 2N events
        first_kind = {}
        for st, d, kd in zip(tr.start, tr.device, tr.kind):
            prev = first_kind.setdefault((st, d), kd)
            assert kd == prev or (prev == 1 and kd == -1)
        assert np.bincount(tr.start, minlength=200).max() <= 2 * net.n_devices_
        # each trace is continuous: an event starts at the energy the previous one (or the start) left
        for e, path in zip(tr.energy_traces(), tr.paths()):
            assert e.size == path.size + 1 and np.all(np.diff(e) < 0)
        np.testing.assert_allclose(tr.energy_before, np.concatenate([e[:-1] for e in tr.energy_traces()]),
                                   rtol=1e-12)
        checked += tr.device.size
    assert checked > 3000


def test_device_spread_has_the_requested_statistics():
    n = 40000
    net = RRAMAttractorNetwork(np.zeros(n), 0.4, -0.8, 1e-4, 1e-5, d2d={"v_set": 0.1, "v_reset": 0.2, "g_hcs": 0.3,
                                                                        "g_lcs": 0.5}, seed=0)
    for got, mean, rel in ((net.v_set_, 0.4, 0.1), (net.v_reset_, -0.8, 0.2), (net.g_hcs_, 1e-4, 0.3)):
        assert abs(got.mean() / mean - 1) < 0.01 and abs(got.std() / abs(mean) / rel - 1) < 0.03
    # lognormal: log g is normal with variance log(1 + rel^2) (g_lcs pairs above their g_hcs were redrawn)
    assert abs(np.log(net.g_hcs_).std() ** 2 / np.log1p(0.3**2) - 1) < 0.03
    assert np.all(net.g_lcs_ < net.g_hcs_)
    wide = RRAMAttractorNetwork(np.zeros(n), d2d={"v_set": 2.0, "v_reset": 2.0, "g_hcs": 3.0, "g_lcs": 3.0}, seed=1)
    assert np.all(wide.v_set_ > 0) and np.all(wide.v_reset_ < 0) and np.all(wide.g_lcs_ < wide.g_hcs_)
    assert np.array_equal(wide.g_hcs_, RRAMAttractorNetwork(np.zeros(n), d2d=wide.d2d, seed=1).g_hcs_)


def test_wide_cycle_spread_keeps_set_up_and_reset_down():
    # ratio 1.3 with 100 % cycle-to-cycle spread: an unconstrained redraw would often put a device's next
    # HCS below its present LCS (a "set" that lowers conductance and raises E)
    rng = np.random.default_rng(15)
    net = RRAMAttractorNetwork(rng.uniform(-2, 2, 6), 0.2, -0.2, 1.3e-5, 1e-5, c2c=dict.fromkeys(SPREAD, 1.0),
                               order="random", seed=0)
    final, tr = net.run(rng.integers(0, 2, (3000, 6)), seed=1, return_path=True)
    delta = tr.conductance_after - tr.conductance_before
    assert tr.device.size > 3000 and np.all(delta[tr.kind == 1] > 0) and np.all(delta[tr.kind == -1] < 0)
    assert np.all(tr.energy_after < tr.energy_before)
    sets = tr.threshold[tr.kind == 1]
    assert np.all(sets > 0) and sets.std() / sets.mean() > 0.4  # thresholds really are redrawn per cycle


def test_energy_trace_replays_through_energy_without_spread():
    rng = np.random.default_rng(8)
    net = random_circuit(rng, 7, d2d=SPREAD)
    starts = all_states(7)
    final, tr = net.run(starts, return_path=True)
    for s0, path, e in zip(starts, tr.paths(), tr.energy_traces()):
        s = s0.copy()
        replay = [net.energy(s)]
        for d in path:
            assert net.eligible(s)[d]
            s[d] ^= 1
            replay.append(net.energy(s))
        np.testing.assert_allclose(e, replay, rtol=1e-12)


def test_random_order_is_seeded_uniform_and_ends_stable():
    rng = np.random.default_rng(9)
    net = random_circuit(rng, 8, order="random")
    starts = all_states(8)
    a = net.run(starts, seed=3)
    assert np.array_equal(a, net.run(starts, seed=3)) and net.is_stable(a).all()
    # Fig. 4a from 0000: devices 3 and 4 are both eligible (u = 0.6 V each); setting either ends at once
    # (0010 or 0001), so the random order must split about evenly where the overdrive order picks device 3
    fig = RRAMAttractorNetwork(FIG4A_V, order="random")
    ends = states_to_bits(fig.run(np.zeros((4000, 4), dtype=np.int8), seed=5))
    assert set(ends) == {"0010", "0001"} and abs(ends.count("0010") / 4000 - 0.5) < 0.03
    fig.order = "overdrive"
    assert states_to_bits(fig.run([0, 0, 0, 0])) == "0010"


def test_max_switches_stops_early():
    net = RRAMAttractorNetwork(FIG4A_V)
    s = bits_to_states("0100")
    final, tr = net.run(s, max_switches=1, return_path=True)
    assert tr.device.size == 1 and not net.is_stable(final)
    assert np.array_equal(net.run(s, max_switches=0), s)


# ----------------------------------------------------------------------------------------- transitions
def test_transition_matrix_rows_and_zero_spread():
    net = RRAMAttractorNetwork(FIG4A_V)
    p = net.transition_matrix(3, seed=0)
    det = net.transitions()
    one_hot = np.zeros((16, 16))
    for a, b in det.items():
        one_hot[int(a, 2), int(b, 2)] = 1.0
    assert np.array_equal(p, one_hot)
    spread = RRAMAttractorNetwork(FIG4A_V, d2d=SPREAD, c2c=SPREAD, seed=1)
    q = spread.transition_matrix(300, seed=2)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    assert np.all(q >= 0) and np.array_equal(q, spread.transition_matrix(300, seed=2))
    assert not np.array_equal(q, one_hot)  # the spread moves some probability off the deterministic ends


# --------------------------------------------------------------------------------------------- design
def slack(net, memory, recall):
    """Smallest margin of every condition design() imposes, measured on the built network."""
    s = np.asarray(memory)
    u = net.device_voltages(s)
    worst = np.min(np.where(s == 1, u - net.v_reset, net.v_set - u))
    if recall:
        for k in range(s.size):
            nb = s.copy()
            nb[k] ^= 1
            u = net.device_voltages(nb)
            keep = np.where(nb == 1, u - net.v_reset, net.v_set - u)
            flip = np.where(nb == 1, net.v_reset - u, u - net.v_set)
            worst = min(worst, np.min(np.delete(keep, k)), flip[k])
    return worst


def test_design_stores_single_memories_with_one_bit_recall():
    rng = np.random.default_rng(10)
    stored = 0
    for _ in range(12):
        n = int(rng.integers(4, 12))
        mem = rng.integers(0, 2, n)
        if mem.all() or not mem.any():
            with pytest.raises(InputError, match="not storable"):
                RRAMAttractorNetwork.design([mem], v_max=50.0)
            continue
        net = RRAMAttractorNetwork.design([mem], v_max=50.0)
        stored += 1
        assert net.is_stable(mem)
        assert slack(net, mem, True) == pytest.approx(net.design_margin_, abs=1e-7)
        cues = np.array([mem ^ (np.arange(n) == k) for k in range(n)])
        for order in ("overdrive", "random"):
            net.order = order
            final, tr = net.run(cues, seed=0, return_path=True)
            assert np.all(final == mem) and tr.device.size == n
    assert stored >= 6


def test_design_refuses_two_memories_with_recall():
    rng = np.random.default_rng(12)
    for _ in range(6):
        mem = rng.integers(0, 2, (2, 8))
        if np.array_equal(mem[0], mem[1]):
            continue
        with pytest.raises(InputError, match="not storable"):
            RRAMAttractorNetwork.design(mem, v_max=50.0)


def test_column_voltage_has_one_single_flip_maximum():
    # why design(recall=True) stores at most one memory: one-bit recall makes a memory a strict local
    # maximum of V_c over single flips, and there is exactly one such state (the global maximum)
    rng = np.random.default_rng(16)
    for _ in range(10):
        net = random_circuit(rng, 8, d2d=SPREAD)
        states = all_states(8)
        vc = net.column_voltage(states)
        flips = np.arange(256)[:, None] ^ (1 << np.arange(8))[None, :]
        local = np.flatnonzero(np.all(vc[:, None] > vc[flips], axis=1))
        assert local.tolist() == [int(np.argmax(vc))] and 0 < local[0] < 255


def test_design_stability_only():
    rng = np.random.default_rng(13)
    # at v = 0 every state is stable with slack min(v_set, |v_reset|): the LP finds at least that
    mem = rng.integers(0, 2, (20, 6))
    net = RRAMAttractorNetwork.design(mem, recall=False)
    assert net.is_stable(mem).all() and net.design_margin_ >= 0.35 - 1e-9
    # a margin above that is no longer free: verify what it stores, and refuse 01/10 (u_1 < 0 < u_2 and back)
    stored = 0
    for p in (1, 2, 3):
        for _ in range(6):
            m = rng.integers(0, 2, (p, 6))
            try:
                net = RRAMAttractorNetwork.design(m, margin=0.5, recall=False)
            except InputError as exc:
                assert "not storable" in str(exc)
                continue
            stored += 1
            assert net.is_stable(m).all()
            worst = min(slack(net, s, False) for s in m)
            assert worst == pytest.approx(net.design_margin_, abs=1e-7) and worst >= 0.5 - 1e-7
    assert stored >= 3
    with pytest.raises(InputError, match="not storable"):
        RRAMAttractorNetwork.design(["01", "10"], margin=0.5, recall=False)


# --------------------------------------------------------------------------------------- sizes, helpers
def test_n16_exhaustive_runs_in_seconds():
    rng = np.random.default_rng(14)
    net = RRAMAttractorNetwork(rng.uniform(-1, 1, 16), d2d=SPREAD, seed=3)
    t0 = time.perf_counter()
    att = net.attractors()
    trans = net.transitions()
    basins = net.basins()
    assert time.perf_counter() - t0 < 15
    assert len(trans) == 1 << 16 and sum(basins.values()) == 1 << 16 and sorted(basins) == att
    assert all(trans[a] == a for a in att)
    sampled = net.sample_attractors(3000, seed=0)
    assert sum(sampled.values()) == 3000 and set(sampled) <= set(att)


def test_large_circuits_point_to_sampling():
    net = RRAMAttractorNetwork(np.linspace(-1, 1, MAX_EXACT_DEVICES + 1))
    with pytest.raises(InputError, match="sample_attractors"):
        net.attractors()
    assert sum(net.sample_attractors(50, seed=0).values()) == 50


def test_bit_string_helpers():
    s = bits_to_states(["0101", "1100"])
    assert s.dtype == np.int8 and s.tolist() == [[0, 1, 0, 1], [1, 1, 0, 0]]
    assert states_to_bits(s) == ["0101", "1100"] and states_to_bits(s[0]) == "0101"
    assert np.array_equal(all_states(3)[5], [1, 0, 1])


@pytest.mark.parametrize("kwargs, name", [
    ({"v": [[0.1, 0.2]]}, "v"), ({"v": []}, "v"), ({"v": [0.1, np.nan]}, "v"), ({"v": [0.1, np.inf]}, "v"),
    ({"v": ["a"]}, "v"), ({"v_set": 0.0}, "v_set"), ({"v_set": -0.1}, "v_set"), ({"v_set": np.nan}, "v_set"),
    ({"v_reset": 0.0}, "v_reset"), ({"v_reset": 0.2}, "v_reset"), ({"v_reset": -np.inf}, "v_reset"),
    ({"g_hcs": 0.0}, "g_hcs"), ({"g_lcs": -1e-5}, "g_lcs"), ({"g_lcs": 1e-4}, "g_lcs"), ({"g_hcs": np.inf}, "g_hcs"),
    ({"g_lcs": np.nan}, "g_lcs"), ({"order": "fastest"}, "order"), ({"d2d": {"v_set": -0.1}}, "d2d"),
    ({"d2d": {"vset": 0.1}}, "d2d"), ({"c2c": {"g_hcs": np.nan}}, "c2c"), ({"c2c": 0.1}, "c2c"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
])
def test_bad_constructor_input_is_named(kwargs, name):
    args = {"v": FIG4A_V, **kwargs}
    with pytest.raises(InputError, match=name):
        RRAMAttractorNetwork(**args)


def test_bad_method_input_is_named():
    net = RRAMAttractorNetwork(FIG4A_V)
    for bad in ([0, 1, 2, 0], [0, 1, 0], "01x1", [[0, 1, 0]]):
        with pytest.raises(InputError, match="states|bits"):
            net.run(bad)
    with pytest.raises(InputError, match="max_switches"):
        net.run([0, 0, 0, 0], max_switches=-1)
    with pytest.raises(InputError, match="trials"):
        net.transition_matrix(0)
    with pytest.raises(InputError, match="num_starts"):
        net.sample_attractors(0)
    with pytest.raises(InputError, match="memories"):
        RRAMAttractorNetwork.design([[0, 2, 1]])
    with pytest.raises(InputError, match="margin"):
        RRAMAttractorNetwork.design(["0101"], margin=0.0)
    with pytest.raises(InputError, match="v_max"):
        RRAMAttractorNetwork.design(["0101"], v_max=-1.0)
    with pytest.raises(InputError, match="v_set_grid"):
        exact_region(FIG4A_V, FIG4A_ATTRACTORS, [-0.1], [-0.5], [10])
    with pytest.raises(InputError, match="v_reset_grid"):
        exact_region(FIG4A_V, FIG4A_ATTRACTORS, [0.3], [0.5], [10])
    with pytest.raises(InputError, match="ratios"):
        exact_region(FIG4A_V, FIG4A_ATTRACTORS, [0.3], [-0.5], [1.0])
    with pytest.raises(InputError, match="target"):
        exact_region(FIG4A_V, ["001"], [0.3], [-0.5], [10])
