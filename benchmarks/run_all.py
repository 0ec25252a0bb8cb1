"""Run every benchmark script in this folder (`make bench`); each saves JSON + PNG under results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
failed = []
for script in sorted(here.glob("*.py")):
    if script.name == "run_all.py":
        continue
    print(f"== {script.name}", flush=True)
    if subprocess.call([sys.executable, str(script)]) != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"benchmarks failed: {', '.join(failed)}")
