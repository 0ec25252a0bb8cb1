"""Sparse deep Boltzmann machine on a p-bit hardware graph (paper 3.3.2 / 4.2, Niazi et al. 2024).

A Boltzmann machine on an arbitrary sparse graph: some p-bits hold image
pixels (``visible``), some hold one-hot labels (``labels``, several copies),
the rest are hidden. Energy and update rule are those of
:mod:`paradigmlab.pbit.model` (``E = -sum J_ij m_i m_j - sum h_i m_i``).

Learning is contrastive (``dJ_ij ~ <m_i m_j>_data - <m_i m_j>_model``) and both
phases are sampled by the p-bit kernels: the positive phase clamps pixels and
labels of one training image per chain, the negative phase runs persistent
free chains. Classification clamps the pixels only and reads the label
p-bits; generation clamps a label and reads the pixels.

The label p-bits are either ordinary p-bits (``label_block="independent"``, as
on Niazi et al.'s FPGA: every copy of every class flips on its own, and the
read-out averages the copies' activity) or one categorical variable
(``"softmax"``: between two sweeps the whole one-hot label -- all copies of all
classes -- is drawn from ``p(y | rest)``, a softmax over classes of the summed
fields of each class's copies). The second is the softmax label unit of
classification RBMs; its class evidence adds up over all copies instead of
being squashed copy by copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from paradigmlab.ebm.engine import EdgeCoupling, PhaseChains, open_chains, rao_blackwell_moments
from paradigmlab.measure import savez_atomic
from paradigmlab.pbit.coloring import check_coloring, color_graph, groups_from_colours
from paradigmlab.pbit.kernels import BACKENDS, is_backend
from paradigmlab.pbit.kernels.base import Kernel
from paradigmlab.pbit.model import IsingModel
from paradigmlab.pbit.reads import average_over_reads, resolve_schedule
from paradigmlab.pbit.schedules import SamplingSchedule
from paradigmlab.pbit.spins import random_spins
from paradigmlab.pbit.substrate import fixed_point_step, quantize
from paradigmlab.validate import declared_size, integer, number, read_npz, real_array

#: Default read-out of :meth:`SparseDBM.label_scores` (and :meth:`~SparseDBM.predict`, :meth:`~SparseDBM.score`).
LABEL_READOUT = SamplingSchedule(burn_in=10, num_samples=20, sweeps_per_sample=2)


class SparseDBM:
    """Weights ``J`` (one per graph edge) and biases ``h`` on a sparse graph with pixel and label p-bits.

    ``edges``: (E, 2) undirected couplers; ``visible``: the p-bit of each pixel
    (in the pixel order of the images you pass); ``labels``: (copies, classes)
    label p-bits; ``groups``: a proper colouring (computed if omitted);
    ``weights``/``h``: initial parameters (default: weights ~ N(0, init_scale),
    h = 0); ``backend``: p-bit kernel used for sampling (a name, or a
    :class:`~paradigmlab.pbit.substrate.Substrate`: emulated hardware); ``label_block``:
    ``"independent"`` or ``"softmax"`` label p-bits (see the module docstring).
    """

    LABEL_BLOCKS = ("independent", "softmax")

    def __init__(self, num_nodes: int, edges: np.ndarray, visible: Sequence[int], labels: np.ndarray,
                 groups: Sequence[np.ndarray] | None = None, weights: np.ndarray | None = None,
                 h: np.ndarray | None = None, beta: float = 1.0, init_scale: float = 0.01,
                 backend: str = "numba", seed: int = 0, label_block: str = "independent"):
        self.coupling = EdgeCoupling(num_nodes, edges)
        n = self.coupling.num_nodes
        self.visible = np.asarray(visible, dtype=np.int64).reshape(-1)
        self.labels = np.atleast_2d(np.asarray(labels, dtype=np.int64))
        used = np.r_[self.visible, self.labels.ravel()]
        if used.size and (used.min() < 0 or used.max() >= n):
            raise ValueError(f"visible/label p-bit index outside 0..{n - 1}")
        if np.unique(used).size != used.size:
            raise ValueError("visible and label p-bits must all be distinct")
        if self.labels.shape[1] < 2:
            raise ValueError(f"labels must be (copies, classes) with >= 2 classes, got {self.labels.shape}")
        if not is_backend(backend):
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)} or a Substrate")
        if label_block not in self.LABEL_BLOCKS:
            raise ValueError(f"unknown label_block {label_block!r}; choose one of {', '.join(self.LABEL_BLOCKS)}")
        self.backend, self.label_block = backend, label_block
        self.beta = number(beta, "beta", min=0.0)
        self.source = "user-given graph"
        E = self.coupling.num_edges
        if weights is None:
            weights = np.random.default_rng(seed).normal(0.0, init_scale, E)
        self.weights = np.array(weights, dtype=np.float64).reshape(-1)
        if self.weights.shape != (E,):
            raise ValueError(f"weights must have one value per edge ({E}), got {self.weights.shape}")
        self.h = np.zeros(n) if h is None else np.array(h, dtype=np.float64).reshape(-1)
        if self.h.shape != (n,):
            raise ValueError(f"h must have length {n}, got {self.h.shape}")
        if not (np.all(np.isfinite(self.weights)) and np.all(np.isfinite(self.h))):
            raise ValueError("weights and h must be finite")
        pattern = self.coupling.csr(np.ones(E))
        self.groups = color_graph(pattern) if groups is None else check_coloring(pattern, groups)

    # ------------------------------------------------------------ construction
    @classmethod
    def niazi2024(cls, directory: str | Path | None = None, label_copies: int | None = None,
                  placement_seed: int = 0, **kwargs) -> "SparseDBM":
        """The 4,264-p-bit Pegasus graph of Niazi et al. (stand-in when the shared data is absent).

        ``label_copies``: keep their 5 label copies (None) or use that many,
        extra copies on hidden p-bits drawn with ``placement_seed``
        (:meth:`~paradigmlab.data.niazi2024.HardwareGraph.with_label_copies`).
        """
        from paradigmlab.data.niazi2024 import load_niazi2024

        g = load_niazi2024(directory)
        if label_copies is not None:
            g = g.with_label_copies(label_copies, placement_seed)
        groups = groups_from_colours(g.colors) if g.colors is not None else None
        model = cls(g.num_nodes, g.edges, g.visible, g.labels, groups=groups, **kwargs)
        model.source = g.source
        return model

    @classmethod
    def from_hardware(cls, topology: str = "pegasus", size: int = 16, num_nodes: int | None = None,
                      num_visible: int = 784, num_classes: int = 10, label_copies: int = 5,
                      seed: int = 0, **kwargs) -> "SparseDBM":
        """A DBM on a D-Wave hardware graph (``pegasus``/``chimera``/``zephyr`` of ``size``).

        The first ``num_nodes`` nodes (default all) of the largest connected
        component are kept; pixels and labels go to random p-bits (seeded).
        """
        import dwave_networkx as dnx
        import networkx as nx

        makers = {"pegasus": dnx.pegasus_graph, "chimera": dnx.chimera_graph, "zephyr": dnx.zephyr_graph}
        if topology not in makers:
            raise ValueError(f"unknown topology {topology!r}; choose one of {', '.join(makers)}")
        G = nx.convert_node_labels_to_integers(makers[topology](size), ordering="sorted")
        core = sorted(max(nx.connected_components(G), key=len))
        n = len(core) if num_nodes is None else int(num_nodes)
        need = num_visible + num_classes * label_copies
        if not need < n <= len(core):
            raise ValueError(f"num_nodes must be in {need + 1}..{len(core)} for {topology}({size}), got {n}")
        H = nx.convert_node_labels_to_integers(G.subgraph(core[:n]), ordering="sorted")
        edges = np.array(sorted(tuple(sorted(e)) for e in H.edges()), dtype=np.int64)
        perm = np.random.default_rng(seed).permutation(H.number_of_nodes())
        labels = perm[num_visible:need].reshape(label_copies, num_classes)
        model = cls(H.number_of_nodes(), edges, perm[:num_visible], labels, seed=seed, **kwargs)
        model.source = f"{topology}({size}), {n} nodes, random placement (seed {seed})"
        return model

    @classmethod
    def from_arrays(cls, J, h, visible: Sequence[int], labels: np.ndarray, **kwargs) -> "SparseDBM":
        """Import external weights: ``J`` symmetric (dense or sparse; its non-zeros define the graph)."""
        M = IsingModel(J, h).J
        upper = sp.triu(M, k=1).tocoo()
        edges = np.c_[upper.row, upper.col]
        return cls(M.shape[0], edges, visible, labels, weights=upper.data, h=h, **kwargs)

    def quantized(self, bits: int, scale: float | None = None) -> "SparseDBM":
        """A copy with weights and biases in ``bits``-bit signed fixed point at one ``scale`` (default: the
        largest magnitude maps to the largest code), as an FPGA's multiply-accumulate holds them
        (:func:`paradigmlab.pbit.substrate.quantize`); sampling, reads and label draws all see the rounded values."""
        s = fixed_point_step(np.abs(np.r_[self.weights, self.h]).max(initial=0.0), bits) if scale is None \
            else number(scale, "scale", positive=True)
        q = SparseDBM(self.num_nodes, self.coupling.edges, self.visible, self.labels, groups=self.groups,
                      weights=quantize(self.weights, bits, s), h=quantize(self.h, bits, s), beta=self.beta,
                      backend=self.backend, label_block=self.label_block)
        q.source = f"{self.source}, {bits}-bit fixed point (step {s:.4g})"
        return q

    def save(self, path: str | Path) -> Path:
        """Write graph, layout, colouring and parameters to ``path`` (.npz), atomically."""
        path = Path(path)
        arrays = dict(num_nodes=self.num_nodes, edges=self.coupling.edges, weights=self.weights, h=self.h,
                      visible=self.visible, labels=self.labels, beta=self.beta, label_block=self.label_block,
                      group_sizes=[len(g) for g in self.groups], group_nodes=np.concatenate(self.groups))
        savez_atomic(path, arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, backend: str = "numba") -> "SparseDBM":
        """Read a model written by :meth:`save`, checked array by array (types, shapes, finite values, indices
        in range, a proper colouring); every problem is a ``ValueError`` naming the file."""
        z = read_npz(path, "SparseDBM file", required=DBM_FILE_KEYS, allowed=DBM_FILE_KEYS | DBM_FILE_OPTIONAL)
        try:
            n = integer(_scalar(z["num_nodes"], "num_nodes").item(), "num_nodes", min=2)
            declared_size(n, "num_nodes", 64, source=path)
            ints = {k: _int_array(z[k], k) for k in ("edges", "visible", "labels")}
            groups = None
            if ("group_nodes" in z) != ("group_sizes" in z):
                raise ValueError("group_nodes and group_sizes come together (a colouring), or not at all")
            if "group_nodes" in z:
                nodes, sizes = _int_array(z["group_nodes"], "group_nodes"), _int_array(z["group_sizes"], "group_sizes")
                if sizes.ndim != 1 or sizes.min(initial=0) < 0 or sizes.sum() != nodes.size or nodes.ndim != 1:
                    raise ValueError("group_sizes must split group_nodes into colour groups")
                groups = np.split(nodes, np.cumsum(sizes)[:-1])
            beta = number(_scalar(z["beta"], "beta").item(), "beta", min=0.0) if "beta" in z else 1.0
            label_block = str(_scalar(z["label_block"], "label_block")) if "label_block" in z else "independent"
            return cls(n, ints["edges"], ints["visible"], ints["labels"], groups=groups,
                       weights=real_array(z["weights"], "weights"), h=real_array(z["h"], "h"), beta=beta,
                       backend=backend, label_block=label_block)
        except ValueError as exc:
            raise ValueError(f"{path}: invalid SparseDBM file ({exc})") from None

    # ------------------------------------------------------------ views
    @property
    def num_nodes(self) -> int:
        """Number of p-bits."""
        return self.coupling.num_nodes

    @property
    def num_classes(self) -> int:
        """Number of label classes."""
        return self.labels.shape[1]

    @property
    def num_parameters(self) -> int:
        """Trainable parameters: one weight per edge plus one bias per p-bit."""
        return self.coupling.num_edges + self.num_nodes

    def __repr__(self) -> str:
        return (f"SparseDBM(p-bits={self.num_nodes}, edges={self.coupling.num_edges}, "
                f"visible={self.visible.size}, labels={self.labels.shape} {self.label_block}, "
                f"colours={len(self.groups)})")

    def J(self) -> sp.csr_matrix:
        """The current symmetric coupling matrix."""
        return self.coupling.csr(self.weights)

    def to_ising(self) -> IsingModel:
        """The model as an :class:`IsingModel` (for PBitSampler, exact enumeration, AIS)."""
        return IsingModel(self.J(), self.h, beta=self.beta)

    def label_spins(self, y: np.ndarray) -> np.ndarray:
        """One-hot +-1 values of all label p-bits (copies x classes, flattened) per integer label."""
        y = np.asarray(y, dtype=np.int64).reshape(-1)
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(f"labels must be integers in 0..{self.num_classes - 1}")
        one = np.where(np.arange(self.num_classes)[None, :] == y[:, None], 1, -1).astype(np.int8)
        return np.tile(one, (1, self.labels.shape[0]))

    def check_images(self, images: np.ndarray) -> np.ndarray:
        """Validate +-1 images with one value per visible p-bit; return int8 (n, V)."""
        x = np.asarray(images)
        if x.ndim != 2 or x.shape[1] != self.visible.size:
            raise ValueError(f"images must have shape (n, {self.visible.size}), got {x.shape}")
        if not np.all((x == 1) | (x == -1)):
            raise ValueError("images must be binarised to -1/+1 (see paradigmlab.data.mnist.binarize)")
        return x.astype(np.int8)

    # ------------------------------------------------------------ sampling
    def _clamp(self, clamp_images, clamp_labels) -> tuple[np.ndarray | None, np.ndarray | None]:
        nodes, values = [], []
        if clamp_images is not None:
            nodes.append(self.visible)
            values.append(clamp_images)
        if clamp_labels is not None:
            nodes.append(self.labels.ravel())
            values.append(self.label_spins(clamp_labels))
        if not nodes:
            return None, None
        return np.concatenate(nodes), np.concatenate(values, axis=1)

    def clamped_nodes(self, images: bool, labels: bool) -> np.ndarray:
        """The p-bits a phase holds fixed: pixels and/or labels."""
        return np.r_[self.visible if images else [], self.labels.ravel() if labels else []].astype(np.int64)

    def chains(self, states: np.ndarray, seed, clamp_images: np.ndarray | None = None,
               clamp_labels: np.ndarray | None = None) -> Kernel:
        """A p-bit kernel on the current weights holding ``states``, pixels and/or labels clamped per chain."""
        nodes, values = self._clamp(clamp_images, clamp_labels)
        return open_chains(self.backend, self.J(), self.h, self.groups, states, seed, nodes, values)

    def phase_chains(self, states: np.ndarray, images: bool = False, labels: bool = False,
                     label_draws: bool = False) -> PhaseChains:
        """Persistent chains of a learning phase that clamps the pixels and/or labels (see :meth:`run_phase`).

        ``label_draws``: clamped labels still draw their random numbers, so the
        phase runs on the same random numbers as one with the labels free. A
        softmax label block is always held by the kernel (drawn between sweeps
        when the phase leaves it free), so phases share random numbers anyway.
        """
        softmax = self.label_block == "softmax"
        draw = self.labels.ravel() if labels and label_draws and not softmax else None
        return PhaseChains(self.backend, self.groups, states, self.clamped_nodes(images, labels or softmax), draw)

    def run_phase(self, chains: PhaseChains, sweeps: int, seed, clamp_images: np.ndarray | None = None,
                  clamp_labels: np.ndarray | None = None) -> int:
        """Advance ``chains`` ``sweeps`` sweeps on the current weights, clamping these images/labels per chain.

        Returns the number of p-bit updates. The chains' kernel persists, so
        repeated calls cost only the sweeps.
        """
        J = self.J()
        if self.label_block == "independent":
            return chains.run(J, self.h, sweeps, seed, self._clamp(clamp_images, clamp_labels)[1], self.beta)
        if clamp_labels is not None:  # label given: same per-sweep seeding as the phases that draw it
            return chains.run(J, self.h, sweeps, seed, self._clamp(clamp_images, clamp_labels)[1], self.beta,
                              redraw=lambda k: None)
        lab = self.labels.ravel()
        values = np.asarray(chains.states[:, lab] if clamp_images is None
                            else np.hstack([clamp_images, chains.states[:, lab]]), dtype=np.int8)
        rng = np.random.default_rng([int(s) for s in np.atleast_1d(seed)] + [_LABEL_STREAM])
        ops = self.label_energy_terms(J)

        def redraw(k: Kernel) -> np.ndarray:
            self._redraw_labels(k, values, ops, rng)
            return values

        return chains.run(J, self.h, sweeps, seed, values, self.beta, redraw=redraw)

    def sample_phase(self, states: np.ndarray, sweeps: int, seed, clamp_images: np.ndarray | None = None,
                     clamp_labels: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Run chains ``sweeps`` sweeps from ``states``; return ``(states, p-bit updates)``."""
        chains = self.phase_chains(states, clamp_images is not None, clamp_labels is not None)
        n = self.run_phase(chains, sweeps, seed, clamp_images, clamp_labels)
        return chains.states, n

    def random_states(self, num_chains: int, seed) -> np.ndarray:
        """Uniformly random +-1 states for ``num_chains`` chains."""
        return random_spins(seed, (num_chains, self.num_nodes))

    def label_scores(self, images: np.ndarray, num_samples: int | None = None, sweeps_per_sample: int | None = None,
                     burn_in: int | None = None, seed: int = 0, max_chains: int = 2000,
                     schedule: SamplingSchedule | None = None) -> np.ndarray:
        """Mean label activity (n, classes) with the pixels clamped: one chain per image.

        The read-out runs ``schedule`` (default :data:`LABEL_READOUT`; or give
        its fields ``burn_in``, ``num_samples``, ``sweeps_per_sample``): after
        ``burn_in`` sweeps, ``num_samples`` reads ``sweeps_per_sample`` apart
        each add ``tanh(beta I)`` of every label p-bit (its exact conditional
        mean given the sampled rest), averaged over copies; with a softmax
        label block, the label is redrawn before every sweep and each read adds
        the ``p(y | rest)`` it was drawn from (so scores are class
        probabilities; see :func:`~paradigmlab.pbit.reads.average_over_reads`
        for when those reads are taken). Images go in blocks of ``max_chains``.
        """
        x = self.check_images(images)
        schedule = resolve_schedule(schedule, LABEL_READOUT, burn_in=burn_in, num_samples=num_samples,
                                    sweeps_per_sample=sweeps_per_sample)
        softmax = self.label_block == "softmax"
        J, lab = self.J(), self.labels.ravel()
        ops = self.label_energy_terms(J) if softmax else None
        J_lab = J[lab]

        def label_means(kernel: Kernel) -> np.ndarray:  # a read: tanh(beta I) of every label p-bit
            S = kernel.get_states().T.astype(np.float64)
            return np.tanh(self.beta * (J_lab @ S + self.h[lab, None])).T

        out = np.zeros((x.shape[0], self.num_classes))
        for c0 in range(0, x.shape[0], max_chains):
            xb = x[c0:c0 + max_chains]
            states = self.random_states(xb.shape[0], [seed, c0])
            if softmax:
                out[c0:c0 + max_chains] = self._softmax_block_scores(xb, states, schedule, seed, c0, ops)
                continue
            k = self.chains(states, [seed, c0, 1], clamp_images=xb)
            mean = average_over_reads(k, schedule, self.beta, label_means)
            out[c0:c0 + max_chains] = mean.reshape(xb.shape[0], *self.labels.shape).mean(1)
        return out

    def _softmax_block_scores(self, xb: np.ndarray, states: np.ndarray, schedule: SamplingSchedule, seed: int,
                              c0: int, ops: tuple) -> np.ndarray:
        """:meth:`label_scores` of one block of images with a softmax label block: the label is drawn
        before every sweep and each read is the ``p(y | rest)`` it was drawn from."""
        rng = np.random.default_rng([seed, c0, _LABEL_STREAM])
        start = rng.integers(0, self.num_classes, xb.shape[0])
        values = np.hstack([xb, self.label_spins(start)])
        k = self.chains(states, [seed, c0, 1], clamp_images=xb, clamp_labels=start)

        def redraw(kernel: Kernel) -> np.ndarray:
            p = self._redraw_labels(kernel, values, ops, rng)
            kernel.set_clamp_values(values)
            return p

        return average_over_reads(k, schedule, self.beta, read=lambda p: p, before_sweep=redraw)

    def label_energy_terms(self, J: sp.csr_matrix | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
        """What drawing a softmax label needs from the couplings ``J`` (default: the current ones).

        Returns ``(J_ll, self_energy)``: the label-label couplings (label
        p-bits x label p-bits, in the order of ``labels.ravel()``) and each
        class pattern's own coupling energy ``m_c^T J_ll m_c / 2`` (``m_c``:
        the +-1 pattern of all label p-bits for class c). Class c's logit is
        ``beta (2 sum of its copies' external fields + self_energy[c])``; the
        label refit of :mod:`paradigmlab.ebm.readout` inverts that relation.
        """
        J = self.J() if J is None else J
        lab = self.labels.ravel()
        J_ll = J[lab][:, lab].tocsr()
        patterns = self.label_spins(np.arange(self.num_classes)).astype(np.float64)  # classes x label p-bits
        return J_ll, 0.5 * np.einsum("cu,cu->c", patterns, (J_ll @ patterns.T).T)

    def _redraw_labels(self, kernel: Kernel, values: np.ndarray, ops: tuple, rng: np.random.Generator
                       ) -> np.ndarray:
        """Draw every chain's class into the label columns (the last ones) of the clamp ``values``, in
        place; return the ``p(y | rest)`` it was drawn from (see :meth:`_draw_labels`)."""
        n = self.labels.size
        y, p = self._draw_labels(kernel, values[:, -n:], ops, rng)
        values[:, -n:] = self.label_spins(y)
        return p

    def _draw_labels(self, kernel: Kernel, current: np.ndarray, ops: tuple, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Draw each chain's class from ``p(y | rest)`` given the kernel's states; return ``(classes, probs)``.

        The label p-bits' fields minus their couplings among themselves (the
        ``current`` label values) are the external fields ``f``; class c's
        log-weight is ``beta (m_c . f + m_c^T J_ll m_c / 2)``, and ``m_c . f``
        is twice the sum of class c's fields over its copies, less a term the
        same for every class.
        """
        J_ll, self_energy = ops
        external = kernel.local_fields(self.labels.ravel()) - (J_ll @ current.T.astype(np.float64)).T
        per_class = external.reshape(len(external), *self.labels.shape).sum(1)
        logits = self.beta * (2.0 * per_class + self_energy)
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        u = rng.random((p.shape[0], 1))
        return np.minimum((p.cumsum(1) < u).sum(1), self.num_classes - 1), p

    def predict(self, images: np.ndarray, num_samples: int | None = None, sweeps_per_sample: int | None = None,
                burn_in: int | None = None, seed: int = 0, schedule: SamplingSchedule | None = None) -> np.ndarray:
        """Class of each +-1 image: argmax of the label p-bits' mean activity (see :meth:`label_scores`)."""
        return self.label_scores(images, num_samples, sweeps_per_sample, burn_in, seed, schedule=schedule).argmax(1)

    def score(self, images: np.ndarray, y: np.ndarray, **kwargs) -> float:
        """Classification accuracy on ``(images, y)``; keyword options are :meth:`predict`'s."""
        return float(np.mean(self.predict(images, **kwargs) == np.asarray(y)))

    def generate(self, labels: Sequence[int], num_sweeps: int = 200, num_samples: int = 20,
                 seed: int = 0) -> np.ndarray:
        """Images (n, V) in [-1, 1]: mean pixel value over the last ``num_samples`` of ``num_sweeps`` sweeps
        with the label clamped (the schedule ``SamplingSchedule(num_sweeps - num_samples, num_samples, 1)``)."""
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
        if num_sweeps < num_samples or num_samples < 1:
            raise ValueError("need 1 <= num_samples <= num_sweeps")
        schedule = SamplingSchedule(burn_in=int(num_sweeps - num_samples), num_samples=int(num_samples))
        k = self.chains(self.random_states(y.size, [seed, 0]), [seed, 1], clamp_labels=y)
        return average_over_reads(k, schedule, self.beta, lambda kernel: kernel.get_states()[:, self.visible])

    # ------------------------------------------------------------ learning
    def gradient(self, images: np.ndarray, y: np.ndarray, num_chains: int = 256, sweeps: int = 50,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Sampled log-likelihood gradient ``(dL/dweights, dL/dh)`` for a batch, from fresh chains.

        Positive phase: one chain per image with pixels and label clamped;
        negative phase: ``num_chains`` free chains; each run ``sweeps`` sweeps.
        """
        x = self.check_images(images)
        pos, _ = self.sample_phase(self.random_states(len(x), [seed, 0]), sweeps, [seed, 1],
                                   clamp_images=x, clamp_labels=y)
        neg, _ = self.sample_phase(self.random_states(num_chains, [seed, 2]), sweeps, [seed, 3])
        return self.statistics(pos, neg, pos_clamped=self.clamped_nodes(True, True))

    def statistics(self, pos: np.ndarray, neg: np.ndarray, pos_clamped: np.ndarray | None = None,
                   neg_clamped: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Contrastive statistics ``(<mm>_pos - <mm>_neg per edge, <m>_pos - <m>_neg per p-bit)``.

        Rao-Blackwellised: a free p-bit contributes its conditional mean
        ``tanh(beta I_i)`` instead of its sample (``E[m_i m_j] = E[m_i tanh(beta I_j)]``
        exactly), which lowers the variance at the cost of one sparse product.
        ``*_clamped`` list the p-bits held fixed in that phase (they contribute their value).
        """
        wp, hp = self.moments(pos, pos_clamped)
        wn, hn = self.moments(neg, neg_clamped)
        return wp - wn, hp - hn

    def moments(self, states: np.ndarray, clamped: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rao-Blackwellised ``(<m_i m_j> per edge, <m_i> per p-bit)`` over the chains ``states``.

        A softmax label block's conditional mean is not ``tanh(beta I)``, so
        its p-bits always contribute their sampled values.
        """
        if self.label_block == "softmax":
            clamped = np.union1d(np.asarray([] if clamped is None else clamped, np.int64), self.labels.ravel())
        return rao_blackwell_moments(self.coupling, self.weights, self.h, self.beta, states, clamped)


#: Random stream of softmax label draws, apart from the kernels' (seed sequences end in it).
_LABEL_STREAM = 0x1AB31


#: Arrays a SparseDBM file must hold, and those it may.
DBM_FILE_KEYS = frozenset({"num_nodes", "edges", "weights", "h", "visible", "labels"})
DBM_FILE_OPTIONAL = frozenset({"beta", "label_block", "group_sizes", "group_nodes"})


def _scalar(a: np.ndarray, name: str) -> np.ndarray:
    if a.shape != ():
        raise ValueError(f"{name} must be a scalar, got shape {a.shape}")
    return a


def _int_array(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    return a.astype(np.int64)
