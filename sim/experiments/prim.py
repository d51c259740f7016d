"""PRIM, the patient rule induction method (Friedman & Fisher 1999), for scenario discovery.

Given sample points ``X`` (one column per uncertain parameter) and a 0/1
outcome ``y`` (1 = a case of interest, e.g. "the claim fails here"), PRIM
finds boxes — one interval per parameter — where ``y = 1`` is much more
common than elsewhere.  A box is judged by

- **coverage**: the share of all cases of interest that lie inside it;
- **density**: the share of points inside it that are cases of interest;
- **mass**: the share of all points inside it.

Algorithm (a small, documented implementation; EMA Workbench 3.0 needs
Python >= 3.12, and its 2.x line pulls in much more than this needs):

1. **Peeling.**  Start from the box holding every point.  At each step, for
   every parameter, try removing the ``alpha`` share of the box's points with
   the lowest values, and the ``alpha`` share with the highest; keep the one
   removal that leaves the highest density.  Stop when the box would hold
   fewer than ``min_mass`` of the points.  Each step's box is kept: the
   *peeling trajectory*, from high coverage and low density to the reverse.
2. **Choice.**  The box of the trajectory with the best balance of the two,
   the highest F-score ``2 c d / (c + d)`` of coverage ``c`` and density
   ``d`` (the harmonic mean: neither may be small).
3. **Pasting.**  Widen that box's limits again, one at a time, by the
   ``alpha`` share of its points, while a widening raises the F-score; then
   lift the limits of parameters whose restriction adds less than 0.02 to
   the F-score (edges nibbled by peeling, :func:`release`).
4. **Covering.**  For a further box, the points of the boxes found are set
   aside and the search repeats, as long as a box's density is above the
   overall share of cases.

Limits of a parameter the box does not restrict are the data's own minimum
and maximum; :meth:`Box.restricted` lists the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Box:
    """A box of parameter limits, with how well it picks out the cases of interest."""

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def restricted(self, tolerance: float = 1e-12) -> dict[str, tuple[float, float]]:
        """The limits that cut the sampled range (others are the data's own min and max)."""
        out = {}
        for name, (low, high) in self.limits.items():
            data_low, data_high = self.bounds.get(name, (low, high))
            if low > data_low + tolerance or high < data_high - tolerance:
                out[name] = (low, high)
        return out

    def describe(self, digits: int = 3) -> str:
        """The restricted limits as ``path in [low, high]`` joined by ``and``."""
        parts = [f"{name} in [{low:.{digits}g}, {high:.{digits}g}]" for name, (low, high) in self.restricted().items()]
        return " and ".join(parts) or "anywhere (no parameter restricted)"


def _inside(values: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    return np.all((values >= lows) & (values <= highs), axis=1)


def _score(y: np.ndarray, inside: np.ndarray, total: float) -> tuple[float, float, float, float]:
    """Coverage, density, mass and F-score of the points ``inside``."""
    count = inside.sum()
    if count == 0 or total == 0:
        return 0.0, 0.0, 0.0, 0.0
    hits = y[inside].sum()
    coverage, density = hits / total, hits / count
    f_score = 2 * coverage * density / (coverage + density) if hits > 0 else 0.0
    return float(coverage), float(density), float(count / y.size), float(f_score)


def peel(values: np.ndarray, y: np.ndarray, alpha: float, min_mass: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The peeling trajectory: the limits ``(lows, highs)`` after each peel, starting with the full box."""
    lows, highs = values.min(axis=0), values.max(axis=0)
    trajectory = [(lows.copy(), highs.copy())]
    n_min = max(1, int(np.ceil(min_mass * y.size)))
    while True:
        inside = _inside(values, lows, highs)
        if inside.sum() <= n_min:
            return trajectory
        best = None
        for j in range(values.shape[1]):
            column = values[inside, j]
            for side, cut in (("low", np.quantile(column, alpha)), ("high", np.quantile(column, 1 - alpha))):
                keep = inside & ((values[:, j] > cut) if side == "low" else (values[:, j] < cut))
                if keep.sum() < n_min or keep.sum() == inside.sum():
                    continue
                density = y[keep].mean()
                if best is None or density > best[0]:
                    best = (density, j, side, values[keep, j])
        if best is None:
            return trajectory
        _, j, side, kept = best
        if side == "low":
            lows[j] = kept.min()
        else:
            highs[j] = kept.max()
        trajectory.append((lows.copy(), highs.copy()))


def paste(values: np.ndarray, y: np.ndarray, lows: np.ndarray, highs: np.ndarray, alpha: float,
          total: float) -> tuple[np.ndarray, np.ndarray]:
    """Widen the box's limits, one at a time by about ``alpha`` of its points, while the F-score rises."""
    lows, highs = lows.copy(), highs.copy()
    current = _score(y, _inside(values, lows, highs), total)[3]
    while True:
        inside = _inside(values, lows, highs)
        step = max(1, int(round(alpha * inside.sum())))
        best = None
        for j in range(values.shape[1]):
            others = _inside(np.delete(values, j, axis=1), np.delete(lows, j), np.delete(highs, j))
            below = np.sort(values[others & (values[:, j] < lows[j]), j])[::-1]
            above = np.sort(values[others & (values[:, j] > highs[j]), j])
            for side, candidates in (("low", below), ("high", above)):
                if candidates.size == 0:
                    continue
                edge = candidates[min(step, candidates.size) - 1]
                trial_lows, trial_highs = lows.copy(), highs.copy()
                if side == "low":
                    trial_lows[j] = edge
                else:
                    trial_highs[j] = edge
                f_score = _score(y, _inside(values, trial_lows, trial_highs), total)[3]
                if f_score > current + 1e-12 and (best is None or f_score > best[0]):
                    best = (f_score, trial_lows, trial_highs)
        if best is None:
            return lows, highs
        current, lows, highs = best


def release(values: np.ndarray, y: np.ndarray, lows: np.ndarray, highs: np.ndarray, total: float,
            tolerance: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Lift the limits of each parameter whose restriction adds less than ``tolerance`` to the F-score.

    Peeling may nibble a few points off a parameter that does not matter;
    such a limit says nothing and makes the box harder to read.  The least
    useful restriction is lifted first, again until every one left matters.
    """
    lows, highs = lows.copy(), highs.copy()
    data_lows, data_highs = values.min(axis=0), values.max(axis=0)
    while True:
        current = _score(y, _inside(values, lows, highs), total)[3]
        best = None
        for j in range(values.shape[1]):
            if lows[j] <= data_lows[j] and highs[j] >= data_highs[j]:
                continue
            trial_lows, trial_highs = lows.copy(), highs.copy()
            trial_lows[j], trial_highs[j] = data_lows[j], data_highs[j]
            loss = current - _score(y, _inside(values, trial_lows, trial_highs), total)[3]
            if loss < tolerance and (best is None or loss < best[0]):
                best = (loss, trial_lows, trial_highs)
        if best is None:
            return lows, highs
        _, lows, highs = best


def find_box(x: pd.DataFrame, y: Sequence[float] | np.ndarray, alpha: float = 0.05,
             min_mass: float = 0.05) -> Box | None:
    """The best box (peel, choose by F-score, paste) for the cases ``y == 1``; None when there are none.

    Parameters
    ----------
    x : DataFrame
        One row per sample point, one numeric column per parameter.
    y : array of 0/1
        The cases of interest.
    alpha : float
        Share of the box's points removed per peel (and added per paste).
    min_mass : float
        Smallest share of all points a box may hold.
    """
    values = x.to_numpy(dtype=float)
    target = np.asarray(y, dtype=float)
    total = target.sum()
    if total == 0 or values.shape[0] == 0:
        return None
    trajectory = peel(values, target, alpha, min_mass)
    scores = [_score(target, _inside(values, lo, hi), total) for lo, hi in trajectory]
    best = int(np.argmax([s[3] for s in scores]))
    lows, highs = paste(values, target, *trajectory[best], alpha, total)
    lows, highs = release(values, target, lows, highs, total)
    coverage, density, mass, _ = _score(target, _inside(values, lows, highs), total)
    bounds = {c: (float(values[:, j].min()), float(values[:, j].max())) for j, c in enumerate(x.columns)}
    limits = {c: (float(lows[j]), float(highs[j])) for j, c in enumerate(x.columns)}
    return Box(limits, coverage, density, mass, bounds)


def find_boxes(x: pd.DataFrame, y: Sequence[float] | np.ndarray, max_boxes: int = 2, alpha: float = 0.05,
               min_mass: float = 0.05) -> list[Box]:
    """Boxes by covering: each next box searched among the points outside the boxes found.

    A box is kept only if its density is above the overall share of cases
    (it says something).  Coverage and density are over all points.
    """
    values = x.to_numpy(dtype=float)
    target = np.asarray(y, dtype=float)
    total, base_rate = target.sum(), target.mean() if target.size else 0.0
    remaining = np.ones(target.size, dtype=bool)
    boxes: list[Box] = []
    for _ in range(max_boxes):
        box = find_box(x[remaining], target[remaining], alpha, min_mass * target.size / max(remaining.sum(), 1))
        if box is None:
            break
        for j, column in enumerate(x.columns):    # a limit at the remaining points' edge is no restriction
            low, high = box.limits[column]
            left = values[remaining, j]
            box.limits[column] = (values[:, j].min() if low <= left.min() else low,
                                  values[:, j].max() if high >= left.max() else high)
        lows = np.array([box.limits[c][0] for c in x.columns])
        highs = np.array([box.limits[c][1] for c in x.columns])
        inside = _inside(values, lows, highs) & remaining
        coverage, density, mass, _ = _score(target, inside, total)
        if density <= base_rate:
            break
        box.coverage, box.density, box.mass = coverage, density, mass
        box.bounds = {c: (float(values[:, j].min()), float(values[:, j].max())) for j, c in enumerate(x.columns)}
        boxes.append(box)
        remaining &= ~inside
        if target[remaining].sum() == 0:
            break
    return boxes


__all__ = ["Box", "find_box", "find_boxes", "paste", "peel", "release"]
