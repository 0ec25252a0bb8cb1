"""``paradigmlab reproduce``: the paper's claims next to our measurements.

A leaf below every paradigm: it knows nothing about them. Each paradigm
contributes one section through a function
``reproduce_section(out_dir: Path, quick: bool) -> Section`` in its
``reproduce`` module; the command line (:mod:`paradigmlab.cli`, which sits above
every paradigm) collects those functions and passes them to :func:`reproduce`.
Sections run in order; each writes its PNGs into ``out_dir`` and returns
Markdown. The report is ``out_dir/README.md``, its numbers ``out_dir/summary.json``.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from paradigmlab.measure import atomic_path, machine_info, write_json_atomic


@dataclass
class Section:
    """One report section: a title, Markdown body, figure files, raw numbers."""

    title: str
    markdown: str
    figures: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)


def save_figure(fig, path, dpi: int = 110, colours: int = 256) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure; the one way report figures are saved.
    A PNG is stored with a ``colours``-colour palette (plots have few colours: 256 is a third of the bytes with no
    visible change; flat bar charts read the same with 16)."""
    import io

    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(dpi)  # lay out with the renderer that writes the file: at another dpi labels can end up clipped
    fig.tight_layout()
    if path.suffix.lower() != ".png":
        fig.savefig(path, dpi=dpi)
    else:
        from PIL import Image

        buf = io.BytesIO()
        fig.savefig(buf, dpi=dpi, format="png")
        buf.seek(0)
        Image.open(buf).convert("RGB").quantize(colours).save(path, optimize=True)
    plt.close(fig)
    return path


#: What a paradigm contributes: ``reproduce_section(out_dir, quick) -> Section``.
SectionFn = Callable[[Path, bool], Section]


def select_sections(sections: Mapping[str, SectionFn], only: list[str] | None) -> dict[str, SectionFn]:
    """The sections whose name contains one of the words in ``only`` (all when ``only`` is empty).

    A word that matches no section is an error naming the known ones, raised
    before anything runs (a typo must not cost a long report without that section).
    """
    if not only:
        return dict(sections)
    unknown = [w for w in only if not any(w in name for name in sections)]
    if unknown:
        raise ValueError(f"no report section matches {', '.join(map(repr, unknown))}; "
                         f"known sections: {', '.join(sections)}")
    return {name: fn for name, fn in sections.items() if any(w in name for w in only)}


def reproduce(out_dir: str | Path, sections: Mapping[str, SectionFn], quick: bool = True,
              only: list[str] | None = None) -> Path:
    """Run ``sections`` (name -> ``reproduce_section``), or those whose name contains a word in ``only``.

    A section that fails is reported as failed in the report, with its
    traceback, and the command exits non-zero at the end; the other
    sections still run, so nothing measured is lost. ``summary.json`` keeps
    each section's title, run time and raw numbers under its name.
    """
    chosen = select_sections(sections, only)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    summary: dict = {"quick": quick, "machine": machine_info(), "sections": {}}
    failed = []
    for name, fn in chosen.items():
        t0 = time.perf_counter()
        print(f"== reproduce: {name}", flush=True)
        try:
            section = fn(out, quick)
        except Exception:  # noqa: BLE001 - report and continue with the other sections
            failed.append(name)
            parts.append(f"## {name}: FAILED\n\n```\n{traceback.format_exc()}\n```\n")
            summary["sections"][name] = {"failed": True}
            continue
        dt = time.perf_counter() - t0
        parts.append(f"## {section.title}\n\n{section.markdown.strip()}\n\n_Section run time: {dt:.1f} s._\n")
        summary["sections"][name] = {"title": section.title, "seconds": dt, "data": section.data}
        _write(out, summary, parts, quick)
    path = _write(out, summary, parts, quick)
    if failed:
        raise RuntimeError(f"report sections failed: {', '.join(failed)} (see {path})")
    return path


def _write(out: Path, summary: dict, parts: list[str], quick: bool) -> Path:
    m = summary["machine"]
    head = (
        "# paradigmlab: reproduction report\n\n"
        f"Scale: {'quick (laptop)' if quick else 'full'}. Machine: {m.get('processor')}, "
        f"{m.get('cpu_count')} CPUs, Python {m.get('python')}, numpy {m.get('numpy')}, "
        f"numba {m.get('numba')}, torch {m.get('torch')}.\n\n"
        "Every number below was measured by this run; the paper's figures are quoted next to them.\n\n"
    )
    path = out / "README.md"
    with atomic_path(path) as tmp:
        tmp.write_text(head + "\n".join(parts))
    write_json_atomic(out / "summary.json", summary)
    return path
