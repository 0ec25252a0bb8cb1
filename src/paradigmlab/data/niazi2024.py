"""The sparse DBM hardware graph of Niazi et al. (Nature Electronics 2024).

4,264 p-bits on a Pegasus-derived graph, with the p-bits that hold the 784
MNIST pixels (column-major order) and 5 copies of the 10 label p-bits. Read
from ``shared/data/niazi2024`` when present; otherwise a stand-in of the same
size is built from dwave-networkx's Pegasus graph (P16, induced on 4,264
nodes) with a seeded random assignment of pixels and labels, and
``source`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paradigmlab.data.paths import display_path, shared_path
from paradigmlab.validate import declared_size, text_lines

NUM_NODES = 4264


@dataclass
class HardwareGraph:
    """A p-bit hardware graph with its MNIST layout."""

    num_nodes: int
    edges: np.ndarray  # (E, 2) int, i < j, 0-based
    colors: np.ndarray | None  # colour per node from the source, if given
    visible: np.ndarray  # (784,) p-bit of each pixel, pixel k = column-major index
    labels: np.ndarray  # (copies, 10) label p-bits
    source: str

    def with_label_copies(self, copies: int, seed: int = 0) -> "HardwareGraph":
        """The same graph with ``copies`` label copies: the first ones kept, extra copies on hidden p-bits.

        Each label copy is another set of p-bits through which the hidden layer
        can reach the read-out; the graph's own 5 copies give each class ~60
        hidden neighbours, the bottleneck of classification. Extra copies take
        p-bits that were hidden (drawn at random, ``seed``), so the total stays
        ``num_nodes``.
        """
        classes = self.labels.shape[1]
        used = np.r_[self.visible, self.labels.ravel()]
        hidden = np.setdiff1d(np.arange(self.num_nodes), used)
        if not 1 <= copies <= self.labels.shape[0] + hidden.size // classes:
            raise ValueError(f"label copies must be in 1..{self.labels.shape[0] + hidden.size // classes} "
                             f"(enough hidden p-bits for {classes} classes each), got {copies}")
        extra = max(0, copies - self.labels.shape[0]) * classes
        picked = np.random.default_rng(seed).permutation(hidden)[:extra].reshape(-1, classes)
        labels = np.vstack([self.labels[:copies], picked])
        how = f", {copies} label copies"
        if extra:
            how += f" ({picked.shape[0]} on random hidden p-bits, seed {seed})"
        return HardwareGraph(self.num_nodes, self.edges, self.colors, self.visible, labels, self.source + how)


def _read_ints(path: Path, ndmin: int) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (a Niazi graph folder holds edges.txt, visible.txt, labels.txt)")
    lines = [line for _, line in text_lines(path)]  # UTF-8 checked, errors name file and line
    try:
        return np.loadtxt(lines, dtype=np.int64, comments="#", ndmin=ndmin)
    except ValueError as exc:
        raise ValueError(f"{path}: not a whitespace-separated integer table ({exc})") from None


def load_niazi2024(directory: str | Path | None = None) -> HardwareGraph:
    """Load the graph from ``directory`` (default: shared data), or build the stand-in.

    The files are checked against each other: indices in range, no self-loops, 784 distinct pixel
    p-bits, a (copies, classes) label table on other p-bits, one colour per p-bit.
    """
    d = Path(directory) if directory is not None else shared_path("niazi2024")
    if d is None:
        return pegasus_standin()
    edges = _read_ints(d / "edges.txt", 2)
    if edges.shape[1] != 2 or edges.shape[0] == 0:
        raise ValueError(f"{d / 'edges.txt'}: expected lines 'i j' (2 columns), got shape {edges.shape}")
    colors = _read_ints(d / "colors.txt", 1) if (d / "colors.txt").exists() else None
    visible = _read_ints(d / "visible.txt", 1)
    labels = _read_ints(d / "labels.txt", 2)
    n = int(max(edges.max() + 1, NUM_NODES if colors is None else colors.size))
    declared_size(n, "node count", 64, source=d / "edges.txt")
    if edges.min() < 0 or np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError(f"{d / 'edges.txt'}: node indices must be >= 0 and couplers join two distinct p-bits")
    if colors is not None and colors.size != n:
        raise ValueError(f"{d / 'colors.txt'}: one colour per p-bit expected ({n}), got {colors.size}")
    if visible.size != 784 or np.unique(visible).size != 784:
        raise ValueError(f"{d / 'visible.txt'}: expected 784 distinct pixel p-bits, got {visible.size} "
                         f"({np.unique(visible).size} distinct)")
    used = np.r_[visible, labels.ravel()]
    if used.min() < 0 or used.max() >= n or np.unique(used).size != used.size:
        raise ValueError(f"{d}: pixel and label p-bits must be distinct indices in 0..{n - 1}")
    return HardwareGraph(n, np.sort(edges, axis=1), colors, visible, labels, source=display_path(d))


def pegasus_standin(seed: int = 0) -> HardwareGraph:
    """A 4,264-node Pegasus subgraph with random pixel/label placement (no shared data needed)."""
    import dwave_networkx as dnx
    import networkx as nx

    G = dnx.pegasus_graph(16)
    G = nx.convert_node_labels_to_integers(G, ordering="sorted")
    # keep a contiguous block of the linear index order: dense, connected, degree up to 15
    core = max(nx.connected_components(G.subgraph(range(NUM_NODES + 600))), key=len)
    nodes = sorted(core)[:NUM_NODES]
    H = nx.convert_node_labels_to_integers(G.subgraph(nodes), ordering="sorted")
    edges = np.array(sorted(tuple(sorted(e)) for e in H.edges()), dtype=np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(H.number_of_nodes())
    return HardwareGraph(
        H.number_of_nodes(), edges, None, perm[:784], perm[784:834].reshape(5, 10),
        source="generated Pegasus P16 stand-in (shared/data/niazi2024 not found)",
    )
