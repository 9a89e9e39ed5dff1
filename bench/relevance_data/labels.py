"""Load the hand-made relevance labels of the Fundus golden pages (fundus_labels.toml, its header says how).

Owns reading and checking the file, nothing else: a label file that drifts from the pages it describes
(a renamed page, a typo in a label) must fail loudly, or a benchmark would silently score fewer pages.
Pages the file does not list are off-topic, so the result holds only the listed ones.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from bench.real_pages import load_pages

LABELS_FILE = Path(__file__).resolve().parent / "fundus_labels.toml"
LABELS = ("on-topic", "near-miss", "off-topic")


def fundus_labels(path: Path = LABELS_FILE) -> dict[str, tuple[str, str]]:
    """Return page name -> (label, why) for every page the label file lists."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("page", [])
    known = {page.name for page in load_pages()}
    labels: dict[str, tuple[str, str]] = {}
    for number, entry in enumerate(entries, start=1):
        name, label, why = entry.get("name"), entry.get("label"), entry.get("why")
        where = f"{path.name}: page {number} ({name!r})"
        if name not in known:
            raise ValueError(f"{where}: no such page in the Fundus goldens")
        if label not in LABELS:
            raise ValueError(f"{where}: label {label!r} is not one of {', '.join(LABELS)}")
        if not isinstance(why, str) or not why.strip():
            raise ValueError(f"{where}: why is missing")
        if name in labels:
            raise ValueError(f"{where}: listed twice")
        labels[name] = (label, why)
    return labels
