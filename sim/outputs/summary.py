"""Writing a run's summary as ``summary.json``.

The summary itself — final-step and whole-run means with 95% intervals over
replications — is computed by :func:`sim.experiments.summary.summarize`; this
module only writes it, as strict JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.experiments.store import write_text
from sim.experiments.summary import summarize, to_jsonable

__all__ = ["summarize", "to_jsonable", "write_summary"]


def write_summary(summary: Mapping[str, Any], path: Path) -> Path:
    """Write a summary as indented, strict JSON (no NaN), atomically.

    Parameters
    ----------
    summary : mapping
        Output of :func:`~sim.experiments.summary.summarize` (or any JSON-like mapping).
    path : Path
        Destination, conventionally ``results/<scenario>/summary.json``.

    Returns
    -------
    Path
        ``path``.
    """
    text = json.dumps(to_jsonable(summary), indent=2, allow_nan=False, ensure_ascii=False)
    return write_text(Path(path), text + "\n")
