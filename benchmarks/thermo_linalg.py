"""Thermodynamic linear algebra at full scale (issue 19, part 1): the figures RESULTS.md quotes.

Runs :func:`paradigmlab.thermo.experiments.report_run` with ``quick=False``: every algorithm (solve, inv, expm of -A,
slogdet, sample) on both emulated devices (overdamped Langevin, the SPU's RLC network) against numpy / scipy at
N = 4, 16, 64 and kappa = 2, 10, 100 (3 seeds, device time 1e4); error against duration (1e2 ... 1e5), dimension
(4 ... 64) and condition number (1 ... 100) at sampling interval 1 and kappa (4 seeds); time and energy per 1 %-error
solve on every SPU preset against numpy.linalg.solve timed here and an H100 roofline.

    .venv/bin/python benchmarks/thermo_linalg.py [--json benchmarks/results/thermo_linalg.json]

Writes the JSON (machine included) and the scaling PNG beside it (``thermo_linalg_scaling.png``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from paradigmlab.measure import machine_info, write_json_atomic
from paradigmlab.thermo import experiments as ex
from paradigmlab.thermo.reproduce import render


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", default="benchmarks/results/thermo_linalg.json")
    p.add_argument("--quick", action="store_true", help="the report's laptop scale")
    args = p.parse_args()
    r = ex.report_run(quick=args.quick, parts=("linalg",))
    r["machine"] = machine_info()
    out = Path(args.json)
    with tempfile.TemporaryDirectory() as d:
        section = render(r, Path(d))
        shutil.copyfile(Path(d) / "thermo_scaling.png", out.parent / "thermo_linalg_scaling.png")
    write_json_atomic(out, r)
    print(section.markdown)
    print(f"wrote {out} and thermo_linalg_scaling.png beside it ({r['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
