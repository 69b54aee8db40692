"""The benchmarks' shared report step: each script owns one marked section of docs/BENCHMARKS.md
and replaces only that section, so the scripts can run in any order."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, script: str, title: str, body: str) -> None:
    """Put ``body`` under ``## {title} (`bench/{script}`)`` between the script's markers."""
    start, end = f"<!-- bench/{script}: start -->", f"<!-- bench/{script}: end -->"
    section = f"{start}\n## {title} (`bench/{script}`)\n\n{body}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"\nwritten to {path}")
