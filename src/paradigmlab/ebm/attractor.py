"""The passive RRAM attractor circuit of Li et al., Nature Communications 15:7683 (2024) (the paper's ref. 25).

N binary resistive-switching devices share one floating column; device i sits between row i, driven at
voltage ``v[i]``, and that column. Device state ``s[i]`` is 1 in the high-conductance state (HCS, conductance
``g_hcs``) and 0 in the low-conductance state (LCS, ``g_lcs < g_hcs``). Kirchhoff's current law at the
column, ``sum_i g_i (v_i - V_c) = 0``, fixes the column voltage ``V_c(s) = sum_i g_i v_i / G`` with
``G = sum_i g_i``, so device i sees

    u_i = v_i - V_c = sum_j g_j (v_i - v_j) / G,

the antisymmetric "weight" matrix ``W_ij = v_i - v_j`` of the paper weighted by the present conductances.
The set/reset hysteresis is the thresholded neuron: a device in LCS sets (0 -> 1) when ``u_i >= v_set > 0``;
one in HCS resets (1 -> 0) when ``u_i <= v_reset < 0``. Devices switch one at a time (switching time falls
steeply with overdrive, so the most overdriven device goes first), after which ``V_c`` settles again. A
state in which no device is eligible is stable: an attractor.

Energy. ``E(s) = -V_c(s)`` (volts). A set of device i (conductance up by ``delta = g_hcs_i - g_lcs_i``, G the
total before the switch) moves the column by ``+delta u_i / (G + delta)`` with ``u_i >= v_set``; a reset moves
it by ``-delta u_i / (G - delta)`` with ``u_i <= v_reset``. Both raise ``V_c``, so every event lowers E by at
least ``delta v_set / (G + delta)`` (set) or ``delta |v_reset| / (G - delta)`` (reset) -- the paper's
"thresholded energy change" -- and the dynamics always end in an attractor. Since V_c only rises, every
device voltage only falls: a device can set and later reset but never reset and then set again, so a run
ends within 2N events. :class:`SwitchTrace` records
every event so this can be checked, with device-to-device and cycle-to-cycle spread too.

Variability. ``d2d`` and ``c2c`` are dicts of relative standard deviations for ``"v_set"``, ``"v_reset"``,
``"g_hcs"``, ``"g_lcs"``. Threshold voltages are normal, truncated so that ``v_set > 0`` and ``v_reset < 0``;
conductances are lognormal (with the given mean and relative spread), a device's pair redrawn until
``g_lcs < g_hcs``. Device-to-device values are drawn once per device at construction; cycle-to-cycle values
are drawn around them for every run start and again for the switching device at every event (its thresholds
and the conductance it will take at its next switch, truncated so that a set always raises and a reset
always lowers its conductance).

Bit strings list device 1 first, ``"1"`` = HCS (the paper's notation); integer state index ``k`` is the bit
string read as a binary number, so sorted bit strings and ``arange(2**N)`` agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.special import ndtr, ndtri

from paradigmlab.validate import InputError, integer, number, real_array

#: Largest N for which the exhaustive methods (attractors, transitions, basins) enumerate all 2^N states.
MAX_EXACT_DEVICES = 20
#: Largest N for which :meth:`RRAMAttractorNetwork.transition_matrix` builds the dense 2^N x 2^N matrix.
MAX_MATRIX_DEVICES = 12
#: The variability keys ``d2d`` / ``c2c`` accept.
SPREAD_KEYS = ("v_set", "v_reset", "g_hcs", "g_lcs")
#: The switching orders ``order`` accepts.
ORDERS = ("overdrive", "random")
#: Li et al. Fig. 4a: row voltages and the published attractor set.
FIG4A_V = (0.4, -1.2, 0.8, 0.8)
#: What :meth:`RRAMAttractorNetwork.design` may ask of corrupted memories (``True`` / ``False`` are aliases).
RECALL_MODES = {"exclusive": "exclusive", True: "exclusive", "eligible": "eligible", "none": "none", False: "none"}
FIG4A_ATTRACTORS = ("0001", "0010", "0011", "1001", "1010", "1011")

# States are processed in blocks of this many rows, so N = 20 enumerations stay within a few hundred MB.
_BLOCK = 1 << 16


# ----------------------------------------------------------------------------------------------- bit strings
def bits_to_states(bits) -> np.ndarray:
    """Bit strings (device 1 first, "1" = HCS) -> int8 0/1 states: one string gives shape (N,), a list (S, N)."""
    single = isinstance(bits, str)
    seq = [bits] if single else list(bits)
    if not seq:
        raise InputError("bits must hold at least one bit string")
    width = None
    for k, b in enumerate(seq):
        if not isinstance(b, str) or not b or set(b) - {"0", "1"}:
            raise InputError(f"bits[{k}] must be a non-empty string of '0' and '1', got {b!r}")
        if width is not None and len(b) != width:
            raise InputError(f"bits[{k}] has {len(b)} bits, the first has {width}")
        width = len(b)
    out = (np.frombuffer("".join(seq).encode(), dtype=np.uint8) - ord("0")).astype(np.int8).reshape(len(seq), width)
    return out[0] if single else out


def states_to_bits(states) -> list[str] | str:
    """0/1 states -> bit strings (device 1 first): shape (N,) gives one string, (S, N) a list."""
    a = _check_binary(states, "states")
    chars = np.where(a.reshape(-1, a.shape[-1]) == 1, "1", "0")
    out = ["".join(row) for row in chars]
    return out[0] if a.ndim == 1 else out


def all_states(n: int) -> np.ndarray:
    """All 2^n states as an int8 (2^n, n) array, row k = k in binary with device 1 the most significant bit."""
    n = integer(n, "n", min=1, max=MAX_EXACT_DEVICES)
    return _index_states(np.arange(1 << n), n)


def _index_states(index: np.ndarray, n: int) -> np.ndarray:
    return ((index[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.int8)


def _state_index(states: np.ndarray) -> np.ndarray:
    n = states.shape[-1]
    return states.astype(np.int64) @ (np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64))


def _check_binary(states, name: str, width: int | None = None) -> np.ndarray:
    """0/1 (or bool) array of one state (N,) or a batch (S, N), or bit string(s), as int8."""
    if isinstance(states, str) or (isinstance(states, (list, tuple)) and states and isinstance(states[0], str)):
        a = bits_to_states(states)
    else:
        a = np.asarray(states)
        if a.dtype.kind not in "biuf":
            raise InputError(f"{name} must be a 0/1 array or bit strings, got dtype {a.dtype}")
    if a.ndim not in (1, 2) or a.shape[-1] == 0:
        raise InputError(f"{name} must have shape (N,) or (S, N) with N >= 1, got {a.shape}")
    if width is not None and a.shape[-1] != width:
        raise InputError(f"{name} must have {width} devices per state, got shape {a.shape}")
    if not np.all((a == 0) | (a == 1)):
        raise InputError(f"{name} must contain only 0 (LCS) and 1 (HCS)")
    return a.astype(np.int8, copy=False)


# ------------------------------------------------------------------------------------------------- physics
def _device_voltages(v: np.ndarray, cond: np.ndarray) -> np.ndarray:
    """u = v - V_c for conductances ``cond`` (..., N): the one formula the simulation, the stability
    checks and the region map all use."""
    vc = (cond @ v) / cond.sum(axis=-1)
    return v - vc[..., None]


def _eligible(states, u, v_set, v_reset) -> np.ndarray:
    """The switching rule: an LCS device sets when u >= v_set, an HCS device resets when u <= v_reset."""
    return np.where(states == 1, u <= v_reset, u >= v_set)


def _overdrive(states, u, v_set, v_reset) -> np.ndarray:
    """How far past its threshold each device is (u - v_set for a set, v_reset - u for a reset); >= 0 where
    eligible, so the eligible device that switches first is the argmax."""
    return np.where(states == 1, v_reset - u, u - v_set)


# --------------------------------------------------------------------------------------------- variability
def _truncated_normal(rng: np.random.Generator, mean, sd, *, low=None, high=None) -> np.ndarray:
    """Normal(mean, sd) conditioned on > low or < high (one of them, or neither), by inverse CDF so every
    call takes exactly one uniform per value (seeded runs do not depend on how many draws were refused)."""
    mean, sd = np.broadcast_arrays(np.asarray(mean, float), np.asarray(sd, float))
    out = mean.copy()
    m = sd > 0
    if not m.any():
        return out
    mu, s = mean[m], sd[m]
    w = 1.0 - rng.random(mu.shape)  # in (0, 1]: ndtri never sees 0
    if low is not None:
        lo = np.broadcast_to(np.asarray(low, float), mean.shape)[m]
        z = -ndtri(w * ndtr((mu - lo) / s))  # the upper tail above lo, through its own (small) probability
        x = np.maximum(mu + s * z, np.nextafter(lo, np.inf))
    elif high is not None:
        hi = np.broadcast_to(np.asarray(high, float), mean.shape)[m]
        z = ndtri(w * ndtr((hi - mu) / s))
        x = np.minimum(mu + s * z, np.nextafter(hi, -np.inf))
    else:
        x = mu + s * ndtri(w)
    out[m] = x
    return out


def _lognormal(rng, mean, rel, *, low=None, high=None) -> np.ndarray:
    """Lognormal with the given mean and relative standard deviation ``rel``, optionally truncated; where
    ``rel`` is 0 the mean itself (exactly, not exp(log(mean)))."""
    mean, rel = np.broadcast_arrays(np.asarray(mean, float), np.asarray(rel, float))
    s2 = np.log1p(rel**2)
    mu = np.log(mean) - s2 / 2
    x = np.exp(_truncated_normal(rng, mu, np.sqrt(s2), low=None if low is None else np.log(low),
                                 high=None if high is None else np.log(high)))
    return np.where(rel > 0, x, mean)


def _draw_devices(rng, nominal: Mapping, spread: Mapping, shape) -> dict:
    """Per-device (v_set, v_reset, g_hcs, g_lcs) of ``shape`` around ``nominal`` (scalars or arrays that
    broadcast) with relative spreads ``spread``; used for device-to-device draws and for each run's first
    cycle-to-cycle draw alike. Keeps v_set > 0 > v_reset and g_lcs < g_hcs of the same device."""
    nom = {k: np.broadcast_to(np.asarray(nominal[k], float), shape) for k in SPREAD_KEYS}
    r = {k: float(spread.get(k, 0.0)) for k in SPREAD_KEYS}
    v_set = _truncated_normal(rng, nom["v_set"], r["v_set"] * nom["v_set"], low=0.0)
    v_reset = _truncated_normal(rng, nom["v_reset"], r["v_reset"] * -nom["v_reset"], high=0.0)
    g_hcs = _lognormal(rng, nom["g_hcs"], r["g_hcs"])
    g_lcs = _lognormal(rng, nom["g_lcs"], r["g_lcs"])
    # a device whose LCS is not below its HCS is not a device: redraw the pair (rejection, not truncation,
    # so that either spread may be zero); terminates since nominal g_lcs < g_hcs
    bad = g_lcs >= g_hcs
    while bad.any():
        g_hcs[bad] = _lognormal(rng, nom["g_hcs"][bad], r["g_hcs"])
        g_lcs[bad] = _lognormal(rng, nom["g_lcs"][bad], r["g_lcs"])
        bad = g_lcs >= g_hcs
    return {"v_set": v_set, "v_reset": v_reset, "g_hcs": g_hcs, "g_lcs": g_lcs}


def _check_spread(spread, name: str) -> dict:
    if spread is None:
        return {}
    if not isinstance(spread, Mapping):
        raise InputError(f"{name} must be a dict of relative standard deviations for {', '.join(SPREAD_KEYS)}, "
                         f"got {type(spread).__name__}")
    out = {}
    for k, val in spread.items():
        if k not in SPREAD_KEYS:
            raise InputError(f"{name} has unknown key {k!r}; allowed: {', '.join(SPREAD_KEYS)}")
        out[k] = number(val, f"{name}[{k!r}]", min=0.0)
    return out


def _check_order(order) -> str:
    if order not in ORDERS:
        raise InputError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    return order


def _generator(seed, name: str) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        seed = integer(seed, name, min=0)
    return np.random.default_rng(seed)


def _check_physics(v_set, v_reset, g_hcs, g_lcs) -> tuple[float, float, float, float]:
    v_set = number(v_set, "v_set")
    if not v_set > 0:
        raise InputError(f"v_set must be > 0 (a set needs a positive device voltage), got {v_set}")
    v_reset = number(v_reset, "v_reset")
    if not v_reset < 0:
        raise InputError(f"v_reset must be < 0 (a reset needs a negative device voltage), got {v_reset}")
    g_hcs = number(g_hcs, "g_hcs", positive=True)
    g_lcs = number(g_lcs, "g_lcs", positive=True)
    if not g_lcs < g_hcs:
        raise InputError(f"g_lcs must be < g_hcs (LCS is the low-conductance state), got g_lcs={g_lcs}, "
                         f"g_hcs={g_hcs}")
    return v_set, v_reset, g_hcs, g_lcs


def _check_v(v) -> np.ndarray:
    a = real_array(v, "v")
    if a.ndim != 1 or a.size == 0:
        raise InputError(f"v must be a 1-D array of N >= 1 row voltages, got shape {a.shape}")
    return a.copy()


# ------------------------------------------------------------------------------------------------- dynamics
@dataclass(frozen=True)
class SwitchTrace:
    """Every switching event of one :meth:`RRAMAttractorNetwork.run`, as flat arrays (one entry per event),
    ordered by start and, within a start, in time.

    ``voltage`` is the switching device's u just before the event and ``threshold`` the v_set (set) or
    v_reset (reset) it crossed; ``conductance_before``/``after`` are its conductance across the event and
    ``total_conductance`` the column's G before it; ``energy_before``/``after`` are -V_c recomputed from all
    conductances (not from the event formula), so the formula can be checked against them.
    """

    num_starts: int
    initial_energy: np.ndarray
    start: np.ndarray
    step: np.ndarray
    device: np.ndarray
    kind: np.ndarray  # +1 set, -1 reset
    voltage: np.ndarray
    threshold: np.ndarray
    conductance_before: np.ndarray
    conductance_after: np.ndarray
    total_conductance: np.ndarray
    energy_before: np.ndarray
    energy_after: np.ndarray

    def _split(self, values: np.ndarray) -> list[np.ndarray]:
        ends = np.cumsum(np.bincount(self.start, minlength=self.num_starts))
        return np.split(values, ends[:-1])

    def paths(self) -> list[np.ndarray]:
        """Per start, the devices (0-based) that switched, in order."""
        return self._split(self.device)

    def energy_traces(self) -> list[np.ndarray]:
        """Per start, E at the start and after each event (length = switches + 1)."""
        return [np.concatenate(([e0], e)) for e0, e in zip(self.initial_energy, self._split(self.energy_after))]


def _relax(v, states, dev: dict, c2c: dict, order: str, rng, max_switches, record: bool):
    """Run every row of ``states`` (S, N) to a stable state (or ``max_switches`` events), one switch at a time.

    ``dev`` holds the device means (arrays broadcasting to (S, N)); with ``c2c`` each row first draws its
    own cycle values around them. Vectorised over rows: each pass switches one device in every row that
    still has an eligible one, so the Python loop runs over switching steps (at most 2N), never over states.
    """
    s = states.astype(np.int8, copy=True)
    shape = s.shape
    if c2c:
        cyc = _draw_devices(rng, dev, c2c, shape)
    else:
        cyc = {k: np.broadcast_to(dev[k], shape) for k in SPREAD_KEYS}
    v_set, v_reset = cyc["v_set"], cyc["v_reset"]
    cond = np.where(s == 1, cyc["g_hcs"], cyc["g_lcs"])
    other = np.where(s == 1, cyc["g_lcs"], cyc["g_hcs"])  # the conductance the device takes at its next switch
    active = np.arange(shape[0])
    initial_energy = -(cond @ v) / cond.sum(axis=1) if record else None
    events = []
    step = 0
    while active.size and (max_switches is None or step < max_switches):
        sa, ca, vs_a, vr_a = s[active], cond[active], v_set[active], v_reset[active]
        u = _device_voltages(v, ca)
        elig = _eligible(sa, u, vs_a, vr_a)
        moving = elig.any(axis=1)
        active, sa, ca, vs_a, vr_a, u, elig = (x[moving] for x in (active, sa, ca, vs_a, vr_a, u, elig))
        if not active.size:
            break
        if order == "overdrive":
            pick = np.where(elig, _overdrive(sa, u, vs_a, vr_a), -np.inf).argmax(axis=1)
        else:  # uniform among the eligible devices: the largest of iid uniforms over the eligible set
            pick = np.where(elig, rng.random(elig.shape), -1.0).argmax(axis=1)
        at = np.arange(active.size)
        was = sa[at, pick]
        g_old, g_new = ca[at, pick], other[active, pick]
        s[active, pick] = 1 - was
        cond[active, pick] = g_new
        other[active, pick] = g_old
        if c2c:
            # a new cycle for the device that switched: fresh thresholds, and the conductance of its next
            # state drawn on the right side of the present one (a set always raises conductance). Within one
            # run a reset device never sets again (u only falls), so only the g_lcs truncation can bind here;
            # the g_hcs one keeps the invariant should that ever change.
            mean = {k: _dev_at(dev, k, active, pick) for k in SPREAD_KEYS}
            v_set[active, pick] = _truncated_normal(rng, mean["v_set"], c2c.get("v_set", 0.0) * mean["v_set"],
                                                    low=0.0)
            v_reset[active, pick] = _truncated_normal(rng, mean["v_reset"],
                                                      -c2c.get("v_reset", 0.0) * mean["v_reset"], high=0.0)
            now_hcs = was == 0
            nxt = np.empty(active.size)
            nxt[now_hcs] = _lognormal(rng, mean["g_lcs"][now_hcs], c2c.get("g_lcs", 0.0), high=g_new[now_hcs])
            nxt[~now_hcs] = _lognormal(rng, mean["g_hcs"][~now_hcs], c2c.get("g_hcs", 0.0), low=g_new[~now_hcs])
            other[active, pick] = nxt
        if record:
            c_after = cond[active]
            events.append((active, np.full(active.size, step), pick, np.where(was == 0, 1, -1), u[at, pick],
                           np.where(was == 0, vs_a[at, pick], vr_a[at, pick]), g_old, g_new, ca.sum(axis=1),
                           -(ca @ v) / ca.sum(axis=1), -(c_after @ v) / c_after.sum(axis=1)))
        step += 1
    if not record:
        return s, None
    cols = [np.concatenate(c) for c in zip(*events)] if events else [np.empty(0)] * 11
    by_start = np.argsort(cols[0], kind="stable")  # events were appended step-major; stable keeps time order
    cols = [c[by_start] for c in cols]
    ints = [c.astype(np.int64) for c in cols[:3]]
    trace = SwitchTrace(shape[0], initial_energy, *ints, cols[3].astype(np.int8), *cols[4:])
    return s, trace


def _dev_at(dev: Mapping, key: str, rows, cols) -> np.ndarray:
    """Device means ``dev[key]`` (broadcasting to (S, N)) at rows/cols."""
    a = np.asarray(dev[key])
    if a.ndim == 1:
        return a[cols]
    return a[rows, cols]


# ------------------------------------------------------------------------------------------------- network
class RRAMAttractorNetwork:
    """The passive RRAM attractor circuit: N rows at voltages ``v``, one floating column (module docstring).

    Parameters
    ----------
    v : row voltages (V), 1-D, N >= 1.
    v_set, v_reset : set threshold (> 0) and reset threshold (< 0) of the device voltage, V.
    g_hcs, g_lcs : HCS and LCS conductances, S (``0 < g_lcs < g_hcs``). Only their ratio matters for the
        attractors and transitions (``V_c`` is homogeneous of degree 0 in the conductances).
    d2d, c2c : relative standard deviations of ``"v_set"``, ``"v_reset"``, ``"g_hcs"``, ``"g_lcs"``,
        device-to-device (drawn once per device here, from ``seed``) and cycle-to-cycle (per run start and
        per switching event).
    order : which eligible device switches first: ``"overdrive"`` (the one furthest past its threshold;
        ties go to the lower device number) or ``"random"`` (uniform among the eligible, seeded).
    seed : int, Generator or None; draws the device-to-device spread and, where a call gets no seed, the
        random order and cycle-to-cycle draws of :meth:`run`.

    The defaults (v_set = 0.35 V, v_reset = -0.75 V, 1e-4 S / 1e-5 S) lie well inside the region where the
    Fig. 4a circuit (``v = FIG4A_V``, ratio 10) has exactly the published attractors ``FIG4A_ATTRACTORS``,
    as measured by :func:`exact_region` (at ratio 10: 3/11 < v_set <= 6/13 and about -1.342 <= v_reset < -0.207).

    Attributes (per device, after the device-to-device draw): ``v_set_``, ``v_reset_``, ``g_hcs_``,
    ``g_lcs_`` (arrays of N), ``n_devices_``.
    """

    def __init__(self, v, v_set=0.35, v_reset=-0.75, g_hcs=1e-4, g_lcs=1e-5, *, d2d=None, c2c=None,
                 order="overdrive", seed=None):
        self.v = _check_v(v)
        self.v_set, self.v_reset, self.g_hcs, self.g_lcs = _check_physics(v_set, v_reset, g_hcs, g_lcs)
        self.d2d = _check_spread(d2d, "d2d")
        self.c2c = _check_spread(c2c, "c2c")
        self.order = _check_order(order)
        self.seed = seed
        self._rng = _generator(seed, "seed")
        self.n_devices_ = self.v.size
        dev = _draw_devices(self._rng, self._nominal(), self.d2d, (self.n_devices_,))
        self.v_set_, self.v_reset_, self.g_hcs_, self.g_lcs_ = (dev[k] for k in SPREAD_KEYS)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("d2d", "c2c") if getattr(self, k))
        return (f"RRAMAttractorNetwork(v={self.v.tolist()!r}, v_set={self.v_set}, v_reset={self.v_reset}, "
                f"g_hcs={self.g_hcs}, g_lcs={self.g_lcs}{extra}, order={self.order!r})")

    def _nominal(self) -> dict:
        return {"v_set": self.v_set, "v_reset": self.v_reset, "g_hcs": self.g_hcs, "g_lcs": self.g_lcs}

    def _devices(self) -> dict:
        return {"v_set": self.v_set_, "v_reset": self.v_reset_, "g_hcs": self.g_hcs_, "g_lcs": self.g_lcs_}

    def _states(self, states) -> np.ndarray:
        return _check_binary(states, "states", self.n_devices_)

    def conductances(self, states) -> np.ndarray:
        """Device conductances (S) in ``states`` (device-to-device values, no cycle-to-cycle draw)."""
        s = self._states(states)
        return np.where(s == 1, self.g_hcs_, self.g_lcs_)

    def column_voltage(self, states) -> np.ndarray | float:
        """V_c = sum_i g_i v_i / G for one state (a float) or a batch (S,)."""
        g = self.conductances(states)
        out = (g @ self.v) / g.sum(axis=-1)
        return float(out) if out.ndim == 0 else out

    def device_voltages(self, states) -> np.ndarray:
        """u_i = v_i - V_c, shape like ``states``."""
        return _device_voltages(self.v, self.conductances(states))

    def energy(self, states) -> np.ndarray | float:
        """E = -V_c (V): every switching event lowers it."""
        out = -np.asarray(self.column_voltage(states))
        return float(out) if out.ndim == 0 else out

    def eligible(self, states) -> np.ndarray:
        """Bool mask (like ``states``) of the devices that would switch now."""
        s = self._states(states)
        u = _device_voltages(self.v, np.where(s == 1, self.g_hcs_, self.g_lcs_))
        return _eligible(s, u, self.v_set_, self.v_reset_)

    def is_stable(self, states) -> np.ndarray | bool:
        """Whether no device is eligible (one bool, or (S,) for a batch)."""
        out = ~self.eligible(states).any(axis=-1)
        return bool(out) if out.ndim == 0 else out

    def run(self, states, seed=None, max_switches=None, return_path=False):
        """Let each start state switch, one device at a time, until stable (or ``max_switches`` events).

        Vectorised over the batch. ``seed`` seeds the random order and the cycle-to-cycle draws (None: the
        network's own generator). Returns the final int8 states, shaped like ``states``; with
        ``return_path`` also a :class:`SwitchTrace` (``.paths()``, ``.energy_traces()``).
        """
        s = self._states(states)
        if max_switches is not None:
            max_switches = integer(max_switches, "max_switches", min=0)
        rng = self._rng if seed is None else _generator(seed, "seed")
        batch = np.atleast_2d(s)
        final, trace = _relax(self.v, batch, self._devices(), self.c2c, _check_order(self.order), rng, max_switches,
                              bool(return_path))
        final = final[0] if s.ndim == 1 else final
        return (final, trace) if return_path else final

    # ------------------------------------------------------------------------------------- exhaustive views
    def _check_exact(self, what: str, limit: int = MAX_EXACT_DEVICES) -> None:
        if self.n_devices_ > limit:
            hint = " use sample_attractors(num_starts, seed) for large circuits" if limit == MAX_EXACT_DEVICES else ""
            raise InputError(f"{what} enumerates all 2^N states and is limited to N <= {limit}, this circuit "
                             f"has N = {self.n_devices_};{hint}")

    def attractors(self) -> list[str]:
        """All stable states as sorted bit strings (device 1 first, "1" = HCS), by exhaustive enumeration."""
        self._check_exact("attractors()")
        n = self.n_devices_
        found = []
        for lo in range(0, 1 << n, _BLOCK):
            idx = np.arange(lo, min(lo + _BLOCK, 1 << n))
            st = _index_states(idx, n)
            found.append(st[self.is_stable(st)])
        return states_to_bits(np.concatenate(found))

    def sample_attractors(self, num_starts, seed=None) -> dict[str, int]:
        """Run ``num_starts`` uniformly random start states; the distinct end states with how many starts
        reached each (most frequent first). For circuits too large to enumerate."""
        num_starts = integer(num_starts, "num_starts", min=1)
        rng = self._rng if seed is None else _generator(seed, "seed")
        counts: Counter = Counter()
        for lo in range(0, num_starts, _BLOCK):
            starts = rng.integers(0, 2, size=(min(_BLOCK, num_starts - lo), self.n_devices_), dtype=np.int8)
            counts.update(states_to_bits(self.run(starts, seed=rng)))
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def _all_transitions(self) -> np.ndarray:
        """End-state index for every start index, deterministic (overdrive order, no cycle-to-cycle draw)."""
        self._check_exact("transitions()")
        n = self.n_devices_
        ends = np.empty(1 << n, dtype=np.int64)
        for lo in range(0, 1 << n, _BLOCK):
            idx = np.arange(lo, min(lo + _BLOCK, 1 << n))
            final, _ = _relax(self.v, _index_states(idx, n), self._devices(), {}, "overdrive", None, None, False)
            ends[idx] = _state_index(final)
        return ends

    def transitions(self) -> dict[str, str]:
        """Start bit string -> end bit string for all 2^N starts, in the deterministic overdrive order and
        without cycle-to-cycle spread (whatever ``order``/``c2c`` say: a transition is then a function)."""
        ends = self._all_transitions()
        n = self.n_devices_
        return dict(zip(states_to_bits(all_states(n)), states_to_bits(_index_states(ends, n))))

    def basins(self) -> dict[str, int]:
        """Attractor bit string -> number of the 2^N start states that end in it (as :meth:`transitions`)."""
        ends = self._all_transitions()
        idx, count = np.unique(ends, return_counts=True)
        return dict(zip(states_to_bits(_index_states(idx, self.n_devices_)), (int(c) for c in count)))

    def transition_matrix(self, trials, seed=None) -> np.ndarray:
        """P[start, end] over 2^N x 2^N states (Li et al. Fig. 4b), by Monte Carlo: each trial draws a fresh
        device-to-device spread (``d2d`` around the nominal values) and runs all 2^N starts with
        cycle-to-cycle spread and this network's ``order``. Rows sum to 1; with no spread and the overdrive
        order it is the 0/1 matrix of :meth:`transitions`."""
        self._check_exact("transition_matrix()", MAX_MATRIX_DEVICES)
        trials = integer(trials, "trials", min=1)
        rng = self._rng if seed is None else _generator(seed, "seed")
        n = self.n_devices_
        m = 1 << n
        starts = all_states(n)
        counts = np.zeros(m * m, dtype=np.int64)
        per_block = max(1, _BLOCK // m)
        for t0 in range(0, trials, per_block):
            t = min(per_block, trials - t0)
            # d2d applies per trial (a fresh circuit), so the device means are per row: (t * m, N)
            dev = _draw_devices(rng, self._nominal(), self.d2d, (t, n))
            dev = {k: np.repeat(a, m, axis=0) for k, a in dev.items()}
            final, _ = _relax(self.v, np.tile(starts, (t, 1)), dev, self.c2c, _check_order(self.order), rng, None,
                              False)
            counts += np.bincount(np.tile(np.arange(m), t) * m + _state_index(final), minlength=m * m)
        return counts.reshape(m, m) / trials

    # ---------------------------------------------------------------------------------------------- design
    @classmethod
    def design(cls, memories, v_set=0.35, v_reset=-0.75, g_hcs=1e-4, g_lcs=1e-5, margin=0.02, v_max=2.0, *,
               recall=True, **options) -> "RRAMAttractorNetwork":
        """A circuit whose row voltages make every memory stable, chosen by linear programming.

        For a fixed state the conductances are fixed, so ``u = (I - 1 g^T / G) v`` is linear in v and each
        stability condition (an LCS device below v_set, an HCS device above v_reset) is a linear inequality.
        ``scipy.optimize.linprog`` maximises the smallest slack m over all of them with ``|v_i| <= v_max``;
        a memory set whose best m is below ``margin`` (V) raises InputError (not storable).

        ``recall`` says what storing "on purpose" asks beyond stability (stability alone is trivial: at v = 0
        every state is stable with slack min(v_set, |v_reset|)):

        * ``"exclusive"`` (or ``True``, the default): every one-bit-corrupted copy of each memory has exactly one
          eligible device, the corrupted one, so it returns to the memory in one switch in any order. Two
          memories at Hamming distance 1 or 2 can then never both be stored.
        * ``"eligible"``: in every one-bit-corrupted copy the corrupted device is eligible to switch back (others
          may be too). Switching back lowers E, so each memory is then a strict local minimum of E over single
          flips -- and the circuit has only one such state (the one whose HCS rows are exactly those with
          v_i > V_c), so at most one memory can be stored this way, whatever the voltages.
        * ``"none"`` (or ``False``): stability only.

        ``options`` go to the constructor (``order``, ``seed``...); the design itself uses the nominal devices.
        """
        v_set, v_reset, g_hcs, g_lcs = _check_physics(v_set, v_reset, g_hcs, g_lcs)
        margin = number(margin, "margin", positive=True)
        v_max = number(v_max, "v_max", positive=True)
        mem = np.unique(np.atleast_2d(_check_binary(memories, "memories")), axis=0)
        p, n = mem.shape
        rows, rhs = [], []

        def add(state, keep: np.ndarray, flip: np.ndarray):
            # keep: devices that must not switch; flip: devices that must (each with slack m)
            g = np.where(state == 1, g_hcs, g_lcs)
            a = np.eye(n) - g[None, :] / g.sum()  # u = a @ v
            hcs = state == 1
            for j in np.flatnonzero(keep):
                # LCS: u_j + m <= v_set ; HCS: -u_j + m <= -v_reset
                rows.append(np.append(a[j] if not hcs[j] else -a[j], 1.0))
                rhs.append(v_set if not hcs[j] else -v_reset)
            for j in np.flatnonzero(flip):
                # LCS must set: -u_j + m <= -v_set ; HCS must reset: u_j + m <= v_reset
                rows.append(np.append(-a[j] if not hcs[j] else a[j], 1.0))
                rhs.append(-v_set if not hcs[j] else v_reset)

        mode = RECALL_MODES.get(recall) if isinstance(recall, (bool, str)) else None
        if mode is None:
            raise InputError(f"recall must be one of {', '.join(repr(k) for k in RECALL_MODES if isinstance(k, str))} "
                             f"(or True / False), got {recall!r}")
        everyone = np.ones(n, dtype=bool)
        nobody = ~everyone
        for s in mem:
            add(s, everyone, nobody)
            if mode != "none":
                for k in range(n):
                    nb = s.copy()
                    nb[k] ^= 1
                    others = everyone & (np.arange(n) != k) if mode == "exclusive" else nobody
                    add(nb, others, np.arange(n) == k)
        res = linprog(np.append(np.zeros(n), -1.0), A_ub=np.array(rows), b_ub=np.array(rhs),
                      bounds=[(-v_max, v_max)] * n + [(None, 4 * v_max)], method="highs")
        best = -res.fun if res.status == 0 else -np.inf
        if not best >= margin:
            what = {"exclusive": "stable with one-switch recall of every one-bit corruption",
                    "eligible": "stable with every one-bit corruption eligible to switch back", "none": "stable"}[mode]
            raise InputError(f"memories not storable: {p} memor{'y' if p == 1 else 'ies'} of {n} devices cannot "
                             f"all be made {what} with slack >= margin = {margin} V and |v| <= v_max = {v_max} V "
                             f"(best slack {best:.4g} V)")
        net = cls(res.x[:n], v_set, v_reset, g_hcs, g_lcs, **options)
        net.design_margin_ = float(best)
        return net


# --------------------------------------------------------------------------------------------- region map
def exact_region(v, target, v_set_grid, v_reset_grid, ratios) -> np.ndarray:
    """Where the circuit's attractor set is exactly ``target``: a bool array (ratio x v_set x v_reset).

    ``ratios`` are g_hcs / g_lcs (> 1; only the ratio matters), ``v_set_grid`` > 0 and ``v_reset_grid`` < 0
    in V, no device spread. A state is stable iff v_set > a(s) (a = largest u of its LCS devices) and
    v_reset < b(s) (b = smallest u of its HCS devices), the switching rule of the network rewritten as two
    bounds so the whole grid is decided by sorting, not by a loop over grid points.
    """
    v = _check_v(v)
    n = v.size
    if n > MAX_EXACT_DEVICES:
        raise InputError(f"v has N = {n} devices; exact_region enumerates 2^N states, N <= {MAX_EXACT_DEVICES}")
    tgt = np.atleast_2d(_check_binary(target, "target", n)) if len(target) else np.empty((0, n), np.int8)
    vs = real_array(v_set_grid, "v_set_grid").ravel()
    vr = real_array(v_reset_grid, "v_reset_grid").ravel()
    ratios = real_array(ratios, "ratios").ravel()
    if vs.size == 0 or not np.all(vs > 0):
        raise InputError("v_set_grid must hold values > 0")
    if vr.size == 0 or not np.all(vr < 0):
        raise InputError("v_reset_grid must hold values < 0")
    if ratios.size == 0 or not np.all(ratios > 1):
        raise InputError("ratios (g_hcs / g_lcs) must hold values > 1")
    states = all_states(n)
    is_target = np.zeros(1 << n, dtype=bool)
    is_target[_state_index(tgt)] = True
    out = np.empty((ratios.size, vs.size, vr.size), dtype=bool)
    for r_i, ratio in enumerate(ratios):
        u = _device_voltages(v, np.where(states == 1, ratio, 1.0))
        a = np.where(states == 0, u, -np.inf).max(axis=1)
        b = np.where(states == 1, u, np.inf).min(axis=1)
        # every target stable
        ok = (vs[:, None] > a[is_target].max(initial=-np.inf)) & (vr[None, :] < b[is_target].min(initial=np.inf))
        # no other state stable: among non-targets with a < v_set (a prefix once sorted by a), every one
        # must have b <= v_reset, i.e. v_reset >= the prefix maximum of b
        a_n, b_n = a[~is_target], b[~is_target]
        srt = np.argsort(a_n, kind="stable")
        prefix_max = np.concatenate(([-np.inf], np.maximum.accumulate(b_n[srt])))
        need = prefix_max[np.searchsorted(a_n[srt], vs, side="left")]
        out[r_i] = ok & (vr[None, :] >= need[:, None])
    return out
