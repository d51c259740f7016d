"""Charts and the report of a calibration (:mod:`sim.experiments.calibration`).

- ``plots/marginals.png`` — weighted histogram of each parameter's last
  generation over its prior range, with the posterior mean and 95% interval;
- ``plots/pairs.png`` — the particles of every pair of parameters, sized by weight;
- ``plots/convergence.png`` — epsilon per generation (log scale);
- ``report.md`` — the parameters, the fit of the fitted targets, and the
  held-out targets' predictions in their own section (pattern-oriented
  validation, Grimm et al. 2005).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.experiments import store


def _figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    with store.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_marginals(result, path: Path) -> Path:
    params = result.parameters
    n = len(params)
    fig, axes = _figure(1, n, figsize=(4 * n, 3.2), squeeze=False)
    w = result.posterior["weight"].to_numpy(float)
    for ax, row in zip(axes[0], params.itertuples(), strict=True):
        x = result.posterior[row.parameter].to_numpy(float)
        ax.hist(x, bins=20, range=(row.low, row.high), weights=w / w.sum(), color="tab:blue", alpha=0.7)
        ax.axvline(row.mean, color="black", label=f"mean {row.mean:.4g}")
        ax.axvspan(row.q025, row.q975, color="tab:orange", alpha=0.2, label="95% interval")
        ax.set_xlim(row.low, row.high)
        ax.set_title(row.parameter, fontsize=9)
        ax.set_xlabel("value (x axis = prior range)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("posterior weight")
    fig.suptitle(f"Posterior marginals, generation {len(result.generations) - 1}", fontsize=10)
    return _save(fig, path)


def plot_pairs(result, path: Path) -> Path:
    params = list(result.parameters.itertuples())
    n = len(params)
    fig, axes = _figure(n, n, figsize=(2.6 * n + 1, 2.6 * n + 1), squeeze=False)
    w = result.posterior["weight"].to_numpy(float)
    size = 60 * w / w.max()
    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i][j]
            xi = result.posterior[pi.parameter].to_numpy(float)
            xj = result.posterior[pj.parameter].to_numpy(float)
            if i == j:
                ax.hist(xi, bins=15, range=(pi.low, pi.high), weights=w, color="tab:blue", alpha=0.7)
            else:
                ax.scatter(xj, xi, s=size, alpha=0.5, color="tab:blue")
                ax.set_xlim(pj.low, pj.high)
                ax.set_ylim(pi.low, pi.high)
            if i == n - 1:
                ax.set_xlabel(pj.parameter, fontsize=7)
            if j == 0:
                ax.set_ylabel(pi.parameter, fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior particles by pair (size = weight)", fontsize=10)
    return _save(fig, path)


def plot_convergence(result, path: Path) -> Path:
    fig, ax = _figure(figsize=(5, 3.2))
    gen = result.generations
    eps = gen["epsilon"].to_numpy(float)
    finite = np.isfinite(eps)
    ax.plot(gen["generation"][finite], eps[finite], marker="o")
    ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel("epsilon (distance threshold)")
    ax.set_title("ABC-SMC convergence: the acceptance threshold per generation", fontsize=9)
    return _save(fig, path)


def _table(frame, columns, formats) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = []
        for c in columns:
            v = getattr(row, c)
            cells.append(formats.get(c, "{}").format(v) if not (isinstance(v, float) and np.isnan(v)) else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_markdown(result) -> str:
    fit = result.fit
    fmt = {"value": "{:.4g}", "sd": "{:.3g}", "simulated": "{:.4g}", "low": "{:.4g}", "high": "{:.4g}",
           "z": "{:+.2f}", "mean": "{:.4g}", "q025": "{:.4g}", "q975": "{:.4g}", "low_": "{:.4g}"}
    cols = ["target", "source", "metric", "value", "sd", "simulated", "low", "high", "z", "within"]
    fitted, held = fit[~fit["held_out"]], fit[fit["held_out"]]
    params = result.parameters.rename(columns={"low": "prior_low", "high": "prior_high"})
    eps = result.generations["epsilon"].to_numpy(float)
    parts = [
        f"# Calibration of {result.targets.path.name}",
        "",
        f"ABC-SMC (pyabc), {len(result.generations)} generations of {int(result.generations['particles'].iloc[-1])} "
        f"particles; {int(result.generations['simulations'].sum())} parameter sets simulated in generations "
        f"0–{len(result.generations) - 1} (after a prior sample of as many as a generation has particles); "
        f"final epsilon {eps[-1]:.4g}. Distance: Σ ((simulated − value) / sd)² over the "
        f"{len(fitted)} fitted targets. Each parameter set: {result.replications} replications per "
        f"scenario on common random numbers (seed {result.seed}).",
        "",
        "## Parameters (posterior mean and 95% interval)",
        "",
        _table(params, ["parameter", "mean", "q025", "q975", "prior_low", "prior_high", "source"],
               {"mean": "{:.4g}", "q025": "{:.4g}", "q975": "{:.4g}", "prior_low": "{:g}", "prior_high": "{:g}"}),
        "",
        "## Fit of the fitted targets at the posterior mean",
        "",
        "`simulated` is the mean over replications with its 95% interval (`low`, `high`); `z` is "
        "(simulated − value) / sd; `within` means |z| ≤ 1.96.",
        "",
        _table(fitted, cols, fmt),
        "",
        "## Held-out targets: predictions (pattern-oriented validation)",
        "",
        "Not used in the fit (Grimm et al. 2005): how well the calibrated model predicts facts it was not "
        "tuned to.",
        "",
        _table(held, cols + ["note"], fmt) if len(held) else "No held-out targets.",
        "",
        "![marginals](plots/marginals.png)",
        "![pairs](plots/pairs.png)",
        "![convergence](plots/convergence.png)",
        "",
    ]
    return "\n".join(parts)


def write_calibration_report(result) -> list[Path]:
    """Write the three charts and report.md into ``result.out``; return their paths."""
    out = Path(result.out)
    paths = [plot_marginals(result, out / "plots" / "marginals.png"),
             plot_pairs(result, out / "plots" / "pairs.png"),
             plot_convergence(result, out / "plots" / "convergence.png")]
    paths.append(store.write_text(out / "report.md", report_markdown(result)))
    return paths


__all__ = ["plot_convergence", "plot_marginals", "plot_pairs", "report_markdown", "write_calibration_report"]
