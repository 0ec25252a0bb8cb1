"""Refit a softmax label block's couplers by multinomial logistic regression (a convex last step).

With a softmax label block, ``p(y | rest)`` of a :class:`SparseDBM` is exactly
a multinomial logistic regression on the label copies' neighbours: class c's
logit is ``beta (2 sum_k h_kc + 2 sum_j v_cj m_j + self-energy_c)``, where
``v_cj`` sums the couplers between class c's copies and p-bit j. Contrastive
learning moves those couplers by small sampled steps (``label_lr_scale``);
here they are fit directly, on the model's own mean activity with the pixels
clamped, by L-BFGS with an L2 penalty, and written back onto the graph's
couplers (split evenly over the copies that touch j) and the label biases.
Only label couplers and label biases change; the graph, the p-bit count and
the sampled read-out stay as they are.
"""

from __future__ import annotations

import numpy as np
import torch

from paradigmlab.ebm.dbm import SparseDBM
from paradigmlab.pbit.reads import average_over_reads, resolve_schedule
from paradigmlab.pbit.schedules import SamplingSchedule


#: Default read-out of :func:`mean_activity`: long enough for the label p-bits, two or more hops from
#: most pixels, to settle.
ACTIVITY_READOUT = SamplingSchedule(burn_in=100, num_samples=20, sweeps_per_sample=5)


def mean_activity(model: SparseDBM, images: np.ndarray, burn_in: int | None = None, num_samples: int | None = None,
                  sweeps_per_sample: int | None = None, seed: int = 0,
                  schedule: SamplingSchedule | None = None) -> np.ndarray:
    """Mean p-bit values (n, N) with the pixels clamped (label p-bits flipping one by one), over the reads
    of ``schedule`` (default :data:`ACTIVITY_READOUT`, or give its fields)."""
    x = model.check_images(images)
    schedule = resolve_schedule(schedule, ACTIVITY_READOUT, burn_in=burn_in, num_samples=num_samples,
                                sweeps_per_sample=sweeps_per_sample)
    k = model.chains(model.random_states(len(x), [seed, 0]), [seed, 1], clamp_images=x)
    return average_over_reads(k, schedule, model.beta, lambda kernel: kernel.get_states())


def fit_label_couplers(model: SparseDBM, images: np.ndarray, y: np.ndarray, l2: float = 3e-3,
                       max_iter: int = 300, seed: int = 0) -> dict:
    """Refit ``model``'s label couplers and biases in place (see the module docstring); return the fit's
    training accuracy and loss. ``l2`` penalises the squared per-class weights ``v_cj``."""
    if model.label_block != "softmax":
        raise ValueError("fit_label_couplers needs a softmax label block (label_block='softmax')")
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    model.label_spins(y)  # validates the label range
    feats = mean_activity(model, images, seed=seed)
    labels, classes = model.labels, model.num_classes
    is_label = np.zeros(model.num_nodes, bool)
    is_label[labels.ravel()] = True
    edges = model.coupling.edges
    touch = is_label[edges].sum(1) == 1  # label p-bit to non-label p-bit
    first = is_label[edges[touch, 0]]
    lab_node = np.where(first, edges[touch, 0], edges[touch, 1])
    other = np.where(first, edges[touch, 1], edges[touch, 0])
    class_of = np.zeros(model.num_nodes, np.int64)
    class_of[labels.ravel()] = np.tile(np.arange(classes), labels.shape[0])
    cls = class_of[lab_node]
    cols, col = np.unique(other, return_inverse=True)
    count = np.zeros((classes, cols.size))
    np.add.at(count, (cls, col), 1.0)
    v0 = np.zeros((classes, cols.size))
    np.add.at(v0, (cls, col), model.weights[touch])

    X = torch.tensor(feats[:, cols], dtype=torch.float64)
    target = torch.tensor(y)
    mask = torch.tensor(count > 0, dtype=torch.float64)
    V = torch.tensor(v0, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([V, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def logits() -> torch.Tensor:
        return 2.0 * model.beta * X @ (V * mask).T + b

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits(), target) + l2 * (V * mask).pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        out = logits()
        loss = float(torch.nn.functional.cross_entropy(out, target))
        acc = float((out.argmax(1) == target).double().mean())
    v = (V * mask).detach().numpy()
    weights = model.weights.copy()
    weights[np.flatnonzero(touch)] = v[cls, col] / count[cls, col]
    model.weights = weights
    self_energy = model.label_energy_terms()[1]  # label-label couplers: unchanged by the refit
    h = model.h.copy()
    h[labels] = ((b.detach().numpy() / model.beta - self_energy) / (2 * labels.shape[0]))[None, :]
    model.h = h
    return {"train_accuracy": acc, "train_loss": loss, "l2": l2, "couplers": int(touch.sum())}
