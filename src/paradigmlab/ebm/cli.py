"""``paradigmlab ebm train|evaluate|generate``: the sparse DBM on MNIST; ``paradigmlab ebm hopfield ...`` and
``paradigmlab ebm attractor ...``: associative memories and the RRAM attractor circuit (argument parsing only;
the runs are :mod:`paradigmlab.ebm.experiments`)."""

from __future__ import annotations

import argparse
import json

from paradigmlab.cliutil import (JSON_HELP, add_json_option, add_out_option, json_to_stdout, mark_output_files,
                                 nonnegative_int, positive_float, positive_int, write_json_option)

TRAIN_EXAMPLES = f"""\
example (seconds: 10 updates, accuracy estimated on 100 test images):
  paradigmlab ebm train --minutes 1 --recipe '{{"epochs": 0.2}}' --eval-n 100 \\
      --checkpoint /tmp/dbm_ckpt.npz --out /tmp/dbm.npz --json -

The recipe is paradigmlab.ebm.experiments.DBM_RECIPE; --recipe overrides its fields (TrainConfig names).
A rerun with the same --checkpoint resumes it bit-exactly (a larger --minutes or "epochs" continues).
{JSON_HELP}
"""

EVALUATE_EXAMPLES = f"""\
example (seconds; the model written by the `ebm train` example):
  paradigmlab ebm evaluate /tmp/dbm.npz --n 200 --json -

{JSON_HELP}
"""

GENERATE_EXAMPLES = """\
example (seconds; the model written by the `ebm train` example):
  paradigmlab ebm generate /tmp/dbm.npz --per-class 2 --out /tmp/dbm_digits.png
"""


HOPFIELD_EXAMPLES = f"""\
examples (seconds):
  python -c "import numpy as np; np.save('/tmp/xi.npy', np.random.default_rng(0).choice([-1, 1], (10, 100)))"
  paradigmlab ebm hopfield store /tmp/xi.npy --rule storkey --out /tmp/hop.npz
  paradigmlab ebm hopfield recall /tmp/hop.npz /tmp/xi.npy --out /tmp/states.npy --json -
  paradigmlab ebm hopfield capacity --sizes 100 --trials 2 --plot /tmp/capacity.png

{JSON_HELP}
"""


ATTRACTOR_EXAMPLES = f"""\
examples (seconds; Li et al. Fig. 4a: v = [0.4, -1.2, 0.8, 0.8] V):
  paradigmlab ebm attractor attractors --v 0.4,-1.2,0.8,0.8 --json -
  paradigmlab ebm attractor attractors --v 0.4,-1.2,0.8,0.8 --v-set 0.3 --v-reset -0.5 --plot /tmp/fig4a.png
  paradigmlab ebm attractor transitions --v 0.4,-1.2,0.8,0.8 --spread 0.1 --trials 2000 --plot /tmp/fig4b.png
  paradigmlab ebm attractor region --plot /tmp/fig4a_region.png

Conductances in siemens (only g_hcs / g_lcs matters); voltages in volts; states are bit strings, device 1 first,
1 = high-conductance state.
{JSON_HELP}
"""


def add_train_options(p: argparse.ArgumentParser, minutes: float = 10.0) -> None:
    """The options of a DBM training run (``ebm train`` and ``benchmarks/ebm_dbm_training.py``)."""
    p.add_argument("--minutes", type=positive_float, default=minutes,
                   help=f"training-time budget, cumulative over resumes (default {minutes:g})")
    p.add_argument("--eval-every", type=positive_int, default=250,
                   help="updates between accuracy estimates and checkpoints (default 250)")
    p.add_argument("--eval-n", type=positive_int, default=1000, help="test images of the accuracy estimates (default 1000)")
    p.add_argument("--recipe", default="{}", help='JSON overrides of the recipe, e.g. \'{"lr": 0.02, "epochs": 1100}\'')
    p.add_argument("--label-copies", type=positive_int, default=None,
                   help="label copies on the graph (default: the recipe's; Niazi et al. have 5)")
    p.add_argument("--label-block", default=None, choices=("independent", "softmax"),
                   help="label p-bits flip one by one (Niazi et al.) or form one categorical variable "
                        "(default: the recipe's)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--allow-resume-changes", action="store_true",
                   help="resume a checkpoint even if it was written with other training settings")


def train_arguments(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`~paradigmlab.ebm.experiments.train_dbm` that the options give."""
    try:
        recipe = json.loads(args.recipe)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--recipe is not valid JSON ({exc}): {args.recipe!r}") from None
    if not isinstance(recipe, dict):
        raise ValueError(f"--recipe must be a JSON object of TrainConfig fields, got {args.recipe!r}")
    return dict(eval_every=args.eval_every, eval_n=args.eval_n, seed=args.seed, label_copies=args.label_copies,
                label_block=args.label_block, recipe=recipe, allow_resume_changes=args.allow_resume_changes)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ebm`` sub-command with ``train``, ``evaluate`` and ``generate``."""
    p = sub.add_parser("ebm", help="sparse deep Boltzmann machine on the p-bit sampler (MNIST)")
    s = p.add_subparsers(dest="ebm_command", required=True)

    t = s.add_parser("train", help="train the Niazi-graph DBM on the 5k MNIST subset (resumable)",
                     epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_options(t)
    t.add_argument("--checkpoint", default="dbm_ckpt.npz", help="checkpoint file (resumed when it exists)")
    mark_output_files(t, "checkpoint")
    add_out_option(t, "file", "the trained model (.npz)", default="dbm.npz")
    add_json_option(t, "the run's summary (updates, time, flips/ns, accuracy estimate)")
    t.set_defaults(func=_train)

    e = s.add_parser("evaluate", help="test accuracy of a saved DBM on the MNIST test images",
                     epilog=EVALUATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("model", help="a .npz written by `ebm train` or SparseDBM.save")
    e.add_argument("--n", type=positive_int, default=None, help="first n test images (default all)")
    e.add_argument("--long", action="store_true", help="the long read-out of the final reports (200 reads)")
    add_json_option(e, "the accuracy and read-out")
    e.set_defaults(func=_evaluate)

    g = s.add_parser("generate", help="PNG grid of digits generated with the label clamped",
                     epilog=GENERATE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("model", help="a .npz written by `ebm train` or SparseDBM.save")
    add_out_option(g, "file", "the PNG grid", default="dbm_digits.png")
    g.add_argument("--per-class", type=positive_int, default=6, help="digits per class (default 6)")
    g.set_defaults(func=_generate)

    _register_hopfield(s)
    _register_attractor(s)


def _register_hopfield(s: argparse._SubParsersAction) -> None:
    from paradigmlab.ebm.hopfield import RULES

    hp = s.add_parser("hopfield", help="Hopfield networks: store patterns, recall cues, measure capacity",
                      epilog=HOPFIELD_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    hs = hp.add_subparsers(dest="hopfield_command", required=True)
    st = hs.add_parser("store", help="learn the +-1 patterns of a .npy file (P x N) and save the network",
                       epilog=HOPFIELD_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    st.add_argument("patterns", help=".npy file of +-1 patterns, one per row")
    st.add_argument("--rule", choices=RULES, default="hebbian")
    add_out_option(st, "file", "the network (.npz)", default="hopfield.npz")
    add_json_option(st, "what was stored (N, patterns, how many are fixed points)")
    st.set_defaults(func=_hopfield_store)

    rc = hs.add_parser("recall", help="run a saved network from the cues of a .npy file",
                       epilog=HOPFIELD_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rc.add_argument("model", help="a network written by `ebm hopfield store`")
    rc.add_argument("cues", help=".npy file of +-1 cues, one per row")
    rc.add_argument("--beta", type=positive_float, default=None,
                    help="inverse temperature of the stochastic network on the p-bit sampler "
                         "(default: deterministic recall to a fixed point)")
    rc.add_argument("--max-sweeps", type=positive_int, default=None, help="sweeps at most (default 200)")
    rc.add_argument("--seed", type=nonnegative_int, default=0, help="update order / random numbers (default 0)")
    add_out_option(rc, "file", "the recalled states (.npy)", default="recalled.npy")
    add_json_option(rc, "per cue: nearest stored pattern, overlap, energy")
    rc.set_defaults(func=_hopfield_recall)

    cp = hs.add_parser("capacity", help="retrieval fraction against load P/N (critical load 0.138 for Hebbian)",
                       epilog=HOPFIELD_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    cp.add_argument("--sizes", default="100,200,500", help="network sizes N, comma-separated (default 100,200,500)")
    cp.add_argument("--rule", choices=RULES, default="hebbian")
    cp.add_argument("--trials", type=positive_int, default=4, help="pattern sets per point (default 4)")
    cp.add_argument("--cue-flip", type=float, default=0.0, help="fraction of cue bits flipped (default 0: "
                                                                 "start at the patterns)")
    cp.add_argument("--seed", type=nonnegative_int, default=0)
    cp.add_argument("--plot", default=None, help="write the capacity curves to this PNG")
    add_json_option(cp, "every point, and the load where retrieval falls through 1/2")
    cp.set_defaults(func=_hopfield_capacity)


def _train(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.train_and_save(args.minutes, args.checkpoint, args.out, **train_arguments(args))
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"data: {res['data']}")
        print(f"{res['update']} updates ({res['epoch']:.1f} epochs) in {res['train_s'] / 60:.1f} min, "
              f"{res['flips_per_ns_training']:.3f} flips/ns; accuracy estimate {res['accuracy_estimate']:.3f}; "
              f"model saved to {res['model_path']}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.evaluate_saved(args.model, n=args.n, long=args.long)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"test accuracy {res['accuracy']:.4f} on {res['test_images']} images ({res['seconds']:.1f} s)")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    path = ex.generate_saved(args.model, args.out, per_class=args.per_class)
    print(f"wrote {path}")
    return 0


def _register_attractor(s: argparse._SubParsersAction) -> None:
    ap = s.add_parser("attractor", help="the RRAM attractor circuit of Li et al. 2024: attractors, transitions, region",
                      epilog=ATTRACTOR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = ap.add_subparsers(dest="attractor_command", required=True)

    def device_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--v", required=True, help="row voltages in V, comma-separated (device 1 first)")
        p.add_argument("--v-set", type=float, default=None, help="set threshold, V > 0 (default 0.35)")
        p.add_argument("--v-reset", type=float, default=None, help="reset threshold, V < 0 (default -0.75)")
        p.add_argument("--g-hcs", type=float, default=None, help="high-conductance state, S (default 1e-4)")
        p.add_argument("--g-lcs", type=float, default=None, help="low-conductance state, S (default 1e-5)")
        p.add_argument("--order", choices=("overdrive", "random"), default="overdrive",
                       help="which eligible device switches first (default: the one furthest past its threshold)")

    at = asub.add_parser("attractors", help="every stable state, every start's end state and switching path",
                         epilog=ATTRACTOR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    device_options(at)
    at.add_argument("--plot", default=None, help="write the attractor map (N = 4 layout as Fig. 4a) to this PNG")
    add_json_option(at, "attractors, transitions, paths, basins, energies")
    at.set_defaults(func=_attractor_attractors)

    tr = asub.add_parser("transitions", help="transition-probability matrix under device spread (Fig. 4b)",
                         epilog=ATTRACTOR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    device_options(tr)
    tr.add_argument("--spread", type=float, default=0.1,
                    help="relative standard deviation of v_set, v_reset, g_hcs and g_lcs, device-to-device and "
                         "cycle-to-cycle (default 0.1)")
    tr.add_argument("--trials", type=positive_int, default=2000, help="Monte Carlo trials per start (default 2000)")
    tr.add_argument("--seed", type=nonnegative_int, default=0)
    tr.add_argument("--plot", default=None, help="write the matrix as a heat map to this PNG")
    add_json_option(tr, "the matrix and how often each start ends where the spread-free circuit does")
    tr.set_defaults(func=_attractor_transitions)

    rg = asub.add_parser("region", help="where (v_set, v_reset) give exactly the Fig. 4a attractors",
                         epilog=ATTRACTOR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rg.add_argument("--ratios", default="3,10,30", help="g_hcs / g_lcs ratios, comma-separated (default 3,10,30)")
    rg.add_argument("--points", type=positive_int, default=121, help="grid points per axis (default 121)")
    rg.add_argument("--plot", default=None, help="write the region maps to this PNG")
    add_json_option(rg, "the bounding box of the region per ratio (and the grid with --json FILE)")
    rg.set_defaults(func=_attractor_region)


def _plot(args: argparse.Namespace, name: str, res) -> None:
    """Honour ``--plot PNG`` with the report's figure of that name."""
    if args.plot:
        from paradigmlab.ebm import reproduce

        getattr(reproduce, name)(res, args.plot)


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated numbers, got {text!r}") from None


def _device(args: argparse.Namespace) -> dict:
    out = {"v": _floats(args.v, "--v"), "order": args.order}
    for k in ("v_set", "v_reset", "g_hcs", "g_lcs"):
        if getattr(args, k) is not None:
            out[k] = getattr(args, k)
    return out


def _attractor_attractors(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.fig4a(**_device(args))
    _plot(args, "plot_fig4a", res)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"{len(res['attractors'])} attractors: {' '.join(res['attractors'])}")
        for a, size in res["basins"].items():
            print(f"  {a}: basin of {size} start states")
    return 0


def _attractor_transitions(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    if not 0.0 <= args.spread <= 1.0:
        raise ValueError(f"--spread must be in [0, 1], got {args.spread}")
    dev = _device(args)
    spread = dict.fromkeys(("v_set", "v_reset", "g_hcs", "g_lcs"), args.spread)
    res = ex.fig4b(trials=args.trials, spread=spread, seed=args.seed, **dev)
    _plot(args, "plot_transitions", res)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"mean probability of the spread-free end state: {res['mean_ideal_probability']:.3f} "
              f"({args.trials} trials per start, spread {args.spread:g})")
    return 0


def _attractor_region(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    ratios = _floats(args.ratios, "--ratios")
    res = ex.fig4a_region(ratios=ratios, points=args.points)
    _plot(args, "plot_region", res)
    write_json_option(args, res if args.json not in ("-",) else {"bounds": res["bounds"]})
    if not json_to_stdout(args):
        for b in res["bounds"]:
            if b["v_set"] is None:
                print(f"ratio {b['ratio']:g}: no (v_set, v_reset) on the grid gives exactly the Fig. 4a attractors")
            else:
                print(f"ratio {b['ratio']:g}: v_set {b['v_set'][0]:.3f}..{b['v_set'][1]:.3f} V, v_reset "
                      f"{b['v_reset'][0]:.3f}..{b['v_reset'][1]:.3f} V (bounding box; {100 * b['fraction_of_grid']:.1f}% "
                      f"of the grid)")
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 2:
        raise ValueError(f"--sizes must be integers >= 2, got {text!r}")
    return sizes


def _hopfield_store(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.hopfield_store(args.patterns, args.rule, args.out)
    write_json_option(args, res)
    if not json_to_stdout(args):
        print(f"stored {res['patterns']} patterns in a {res['rule']} network of N={res['N']} (load {res['load']:.3f}); "
              f"{res['fixed_points']} are fixed points; saved to {res['model_path']}")
    return 0


def _hopfield_recall(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    res = ex.hopfield_recall(args.model, args.cues, args.out, beta=args.beta, seed=args.seed,
                             max_sweeps=args.max_sweeps)
    write_json_option(args, res)
    if not json_to_stdout(args):
        conv = "" if res["converged"] is None else f", {res['converged']} of them at a fixed point"
        print(f"recalled {res['cues']} cues in {res['sweeps']} sweeps{conv}; states written to {res['states_path']}")
    return 0


def _hopfield_capacity(args: argparse.Namespace) -> int:
    from paradigmlab.ebm import experiments as ex

    if not 0.0 <= args.cue_flip < 0.5:
        raise ValueError(f"--cue-flip must be in [0, 0.5), got {args.cue_flip}")
    res = ex.hopfield_capacity(_sizes(args.sizes), trials=args.trials, rule=args.rule, cue_flip=args.cue_flip,
                               seed=args.seed)
    _plot(args, "plot_capacity", [res])
    write_json_option(args, res)
    if not json_to_stdout(args):
        for n, d in res["alpha_half"].items():
            print(f"N={n}: retrieval falls through 1/2 at load {d['alpha_half']:.3f} (95% CI {d['ci95']})")
    return 0
