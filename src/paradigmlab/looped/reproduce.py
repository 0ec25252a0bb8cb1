"""Report section: the paper's Table 1 (looped Transformers) re-run at CPU scale."""

from __future__ import annotations

from pathlib import Path

from paradigmlab.looped.table1 import run_table1
from paradigmlab.report import Section


def reproduce_section(out_dir: Path, quick: bool) -> Section:
    """Train every Table 1 row (quick: scale ``cpu``, else ``cpu-full``) and report the measured table."""
    scale = "cpu" if quick else "cpu-full"
    result = run_table1(scale, Path(out_dir) / "looped_table1", progress=False)
    fig = Path(out_dir) / "looped_table1_loss.png"
    fig.write_bytes((Path(out_dir) / "looped_table1" / "table1_loss.png").read_bytes())
    md = (
        "Paper (Table 1, GPT-2 blocks except the last column): best loss 12x1 3.35, 1x12 3.65, 6x6 3.30, "
        "3x12 3.35, 2x18 3.45, Qwen3 1x6 3.41. Our rows are far smaller (CPU budget) and use byte-level "
        "tokens on Shakespeare + KJV Bible, so absolute losses do not compare; the ordering and the costs do.\n\n"
        + (Path(out_dir) / "looped_table1" / "table1.md").read_text()
        + f"\n![loss curves]({fig.name})\n"
    )
    data = {"rows": result["rows"], "ordering": result["ordering"], "wall_s": result["wall_s"]}
    return Section("Looped Transformers: Table 1 (paper 4.2)", md, [fig.name], data)
