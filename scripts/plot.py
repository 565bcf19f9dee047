#!/usr/bin/env python3
"""Figures from lojasim's CSV output (issue 6).

    plot.py sweep  SWEEP.csv [MORE.csv ...] [--x COL] [--where COL=VALUE ...]
    plot.py curves CURVES.csv [--sweep SWEEP.csv ...] [--config ID ...] [--where COL=VALUE ...]
    plot.py traces TRACE.csv (--radius R | --run-csv RUN.csv)

Every subcommand takes --out STEM (writes STEM.png, STEM.svg, ...) and --format png,svg.
Figures are written whole (temporary file beside the target, then renamed) and replace an
existing figure of the same name. Bad input ends with `error: ...` on stderr and exit status 2,
and no figure. See docs/plotting.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import tempfile
from pathlib import Path
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")  # headless: no display is needed or used

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

# Text stays text in SVG (searchable, small); fixed ids and no date make re-runs byte-stable.
plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "lojasim",
        "font.size": 10,
        "axes.titlesize": 10,
        "legend.fontsize": 8.5,
    }
)

FORMATS = ("png", "svg", "pdf")
MAX_LINES = 8  # distinct lines per panel before the figure stops being readable
MAX_CURVES = 10
VACUOUS_COLOR = "#c0392b"

# Columns of `lojasim sweep --out` that a user sets (the rest are results or derived).
# theta0 is plotted through its derived F(θ0) (`f0`), the axis of the theory.
PARAMETERS = [
    "problem", "dim", "curvature", "theta0", "radius", "noise", "noise_dist", "sigma",
    "schedule", "eta", "gamma", "n0", "q", "steps", "eps", "seed", "ci_method",
    "confidence", "constants_source", "batch",
]
NUMERIC_X = ["eta", "sigma", "radius", "f0", "theta0", "gamma", "n0", "q", "steps", "eps", "dim",
             "confidence", "batch"]
PANEL_KEYS = ("noise", "schedule")
SWEEP_REQUIRED = ["noise", "schedule", "stay_p", "stay_lo", "stay_hi", "converge_p",
                  "converge_lo", "converge_hi", "ci_method", "confidence"]
CURVES_REQUIRED = ["config_id", "traj_start", "traj_end", "k", "stay_count", "loss_mean",
                   "loss_se", "loss_bound"]
TRACE_REQUIRED = ["trajectory", "k", "loss", "distance"]

LABELS = {
    "eta": ("step size η", "η"),
    "sigma": ("noise level σ", "σ"),
    "radius": ("ball radius r (distance in θ-space)", "r"),
    "f0": ("initial loss F(θ0)", "F(θ0)"),
    "theta0": ("start θ0 (each coordinate)", "θ0"),
    "gamma": ("Robbins–Monro γ (η_k = γ/(k+n0)^q)", "γ"),
    "n0": ("Robbins–Monro n0", "n0"),
    "q": ("Robbins–Monro exponent q", "q"),
    "steps": ("horizon K (steps)", "K"),
    "eps": ("convergence threshold ε on F(θ_K)", "ε"),
    "dim": ("dimension d", "d"),
    "confidence": ("interval level", "level"),
    "problem": ("problem", "problem"),
    "noise_dist": ("law of Z", "Z"),
    "curvature": ("curvatures a", "a"),
    "seed": ("seed", "seed"),
    "ci_method": ("interval method", "interval"),
    "constants_source": ("constants", "constants"),
    "noise": ("noise", "noise"),
    "schedule": ("schedule", "schedule"),
    "batch": ("minibatch size B", "B"),
}
NOISE_NAMES = {
    "ml": "machine-learning noise √(σF)·Z",
    "bounded": "bounded noise √σ·Z",
    "none": "no noise (gradient descent)",
    "minibatch": "minibatch noise (gradient of B rows)",
}
SCHEDULE_NAMES = {"constant": "constant step", "robbins-monro": "Robbins–Monro steps"}


class PlotError(Exception):
    """Bad input or an impossible request: reported as `error: ...`, exit status 2."""


# ---------------------------------------------------------------- reading CSV


class Table:
    """A CSV file as a header and rows of strings, with the line number of each row."""

    def __init__(self, path: str, header: list[str], rows: list[dict], lines: list[int]):
        self.path, self.header, self.rows, self.lines = path, header, rows, lines

    def require(self, columns, what: str) -> None:
        missing = [c for c in columns if c not in self.header]
        if missing:
            raise PlotError(
                f"{self.path}: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}; is this {what}?"
            )

    def number(self, i: int, column: str) -> float:
        """The cell as a float; NaN for an empty cell (lojasim's "not applicable")."""
        cell = self.rows[i][column]
        if cell == "":
            return math.nan
        try:
            return float(cell)
        except ValueError:
            raise PlotError(
                f"{self.path} line {self.lines[i]}: column {column}: {cell!r} is not a number"
            ) from None

    def integer(self, i: int, column: str) -> int:
        cell = self.rows[i][column]
        try:
            return int(cell)
        except ValueError:
            raise PlotError(
                f"{self.path} line {self.lines[i]}: column {column}: {cell!r} is not an integer"
            ) from None


def read_csv(path: str) -> Table:
    """Reads a whole CSV file, refusing anything lojasim would not have written.

    An incomplete last line (no newline, wrong field count) is what an interrupted append can
    leave; like `lojasim merge`, it is skipped with a warning."""
    p = Path(path)
    if not p.exists():
        raise PlotError(f"{path}: no such file")
    if p.is_dir():
        raise PlotError(f"{path} is a directory, not a CSV file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PlotError(f"{path}: not a text (UTF-8) CSV file") from None
    except OSError as e:
        raise PlotError(f"{path}: cannot read: {e.strerror}") from None
    if not text.strip():
        raise PlotError(f"{path} is empty: expected a CSV header line")
    try:
        records = list(csv.reader(text.splitlines()))
    except csv.Error as e:
        raise PlotError(f"{path}: malformed CSV: {e}") from None
    header = [h.strip() for h in records[0]]
    if len(header) < 2 or any(h == "" for h in header):
        raise PlotError(f"{path} line 1: malformed CSV header {records[0]!r}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise PlotError(f"{path} line 1: column {dup[0]} appears twice in the header")
    rows, lines = [], []
    for n, rec in enumerate(records[1:], start=2):
        if not rec:
            continue
        if len(rec) != len(header):
            last = n == len(records) and not text.endswith("\n")
            if last:
                print(f"warning: {path} line {n}: incomplete last line ignored", file=sys.stderr)
                continue
            raise PlotError(
                f"{path} line {n}: malformed CSV: {len(rec)} fields, the header has {len(header)}"
            )
        rows.append(dict(zip(header, rec)))
        lines.append(n)
    return Table(path, header, rows, lines)


def read_tables(paths: list[str]) -> Table:
    """Several CSV files with the same header, as one table (e.g. an ml sweep and a
    bounded/Robbins–Monro sweep plotted side by side)."""
    tables = [read_csv(p) for p in paths]
    first = tables[0]
    for t in tables[1:]:
        if set(t.header) != set(first.header):
            extra = sorted(set(t.header) ^ set(first.header))
            raise PlotError(
                f"{t.path} and {first.path} have different columns ({', '.join(extra[:5])}); "
                "plot them separately"
            )
    rows = [r for t in tables for r in t.rows]
    lines = [n for t in tables for n in t.lines]
    name = first.path if len(tables) == 1 else " + ".join(t.path for t in tables)
    return Table(name, first.header, rows, lines)


def parse_where(specs: list[str], table: Table) -> list[tuple[str, str]]:
    conditions = []
    for spec in specs or []:
        col, sep, value = spec.partition("=")
        col = col.strip()
        if not sep or not col:
            raise PlotError(f"--where {spec!r}: expected COLUMN=VALUE, e.g. --where radius=0.3")
        if col not in table.header:
            raise PlotError(
                f"--where {spec!r}: no column {col} in {table.path} "
                f"(columns: {', '.join(c for c in PARAMETERS if c in table.header)}, ...)"
            )
        conditions.append((col, value.strip()))
    return conditions


def same_value(cell: str, value: str) -> bool:
    if cell == value:
        return True
    try:
        return float(cell) == float(value)
    except ValueError:
        return False


def filter_rows(table: Table, conditions) -> Table:
    keep = [i for i, r in enumerate(table.rows) if all(same_value(r[c], v) for c, v in conditions)]
    if not keep:
        shown = " ".join(f"--where {c}={v}" for c, v in conditions)
        raise PlotError(f"nothing to plot: no row of {table.path} matches {shown}")
    return Table(table.path, table.header, [table.rows[i] for i in keep],
                 [table.lines[i] for i in keep])


# ---------------------------------------------------------------- output


def output_plan(out: str | None, default_stem: str, formats: str) -> list[Path]:
    """Target paths, checked before any work (fail fast)."""
    fmts = [f.strip().lower().lstrip(".") for f in formats.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if not fmts or bad:
        raise PlotError(f"--format {formats!r}: choose from {', '.join(FORMATS)} (e.g. png,svg)")
    stem = Path(out) if out else Path(default_stem)
    if stem.suffix.lower().lstrip(".") in FORMATS:
        stem = stem.with_suffix("")
    directory = stem.parent
    if not directory.is_dir():
        raise PlotError(f"--out {out}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise PlotError(f"--out {out}: directory {directory} is not writable")
    return [stem.with_name(stem.name + "." + f) for f in dict.fromkeys(fmts)]


def save(fig, targets: list[Path], dpi: int = 150) -> None:
    """Renders every format to a temporary file beside its target, then renames them all:
    a failure leaves no partial figure."""
    umask = os.umask(0)
    os.umask(umask)
    temps = []
    try:
        for target in targets:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="." + target.name + ".",
                                       suffix=".tmp")
            os.close(fd)
            temps.append(tmp)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make the figure private
            fmt = target.suffix.lstrip(".")
            metadata = {"Date": None} if fmt == "svg" else None
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)
        for tmp, target in zip(temps, targets):
            os.replace(tmp, target)
            print(target)
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.remove(tmp)
        plt.close(fig)


# ---------------------------------------------------------------- shared helpers


def fmt_value(x) -> str:
    """A short label for a parameter value (the CSV keeps the exact one)."""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return x
    if isinstance(x, float) and math.isnan(x):
        return "–"
    if float(x).is_integer() and abs(x) < 1e9:
        return str(int(x))  # N = 20000, not 2e+04
    return f"{x:.4g}"


def summarize(values, symbol: str) -> str | None:
    """"d = 10", "d = 10/20", or None when empty."""
    vals = [v for v in dict.fromkeys(values) if v != ""]
    if not vals:
        return None
    if len(vals) > 3:
        nums = sorted(float(v) for v in vals)
        return f"{symbol} = {fmt_value(nums[0])}…{fmt_value(nums[-1])}"
    return f"{symbol} = " + "/".join(fmt_value(v) for v in vals)


def interval_caption(rows) -> str:
    pairs = dict.fromkeys((r["ci_method"], r["confidence"]) for r in rows)
    parts = []
    for method, conf in pairs:
        try:
            level = f"{float(conf) * 100:g} %"
        except ValueError:
            level = conf
        parts.append(f"{method} {level}")
    return "bands: " + ", ".join(parts) + " confidence intervals (pointwise)"


def log_spans_decade(values) -> bool:
    v = [x for x in values if x > 0 and math.isfinite(x)]
    return bool(v) and len(v) == len([x for x in values if math.isfinite(x)]) and max(v) / min(v) > 10


def panel_sort_key(key):
    noise, schedule = key
    order = {"ml": 0, "bounded": 1, "none": 3}
    return (order.get(noise, 2), noise, 0 if schedule == "constant" else 1, schedule)


def panel_title(key, rows) -> str:
    noise, schedule = key
    title = NOISE_NAMES.get(noise, f"{noise} noise")
    sched = SCHEDULE_NAMES.get(schedule, schedule)
    if schedule == "robbins-monro":
        fixed = [summarize([r.get(c, "") for r in rows], LABELS[c][1]) for c in ("gamma", "n0", "q")]
        fixed = [f for f in fixed if f and "…" not in f and "/" not in f]
        if fixed:
            sched += " (" + ", ".join(fixed) + ")"
    return f"{title}\n{sched}"


# ---------------------------------------------------------------- sweep


def varying(rows, column) -> list[str]:
    vals = list(dict.fromkeys(r.get(column, "") for r in rows))
    nonempty = [v for v in vals if v != ""]
    return nonempty if len(nonempty) > 1 else []


def choose_axes(table: Table, x: str | None, panels: dict) -> tuple[str, list[str]]:
    """The x column and the columns whose combinations become separate lines."""
    params = [c for c in PARAMETERS if c in table.header and c not in PANEL_KEYS]
    # Varying within some panel: eta is empty under Robbins–Monro, gamma under a constant step.
    moving = [c for c in params if any(varying(rows, c) for rows in panels.values())]
    if "theta0" in moving and "f0" in table.header:
        moving = ["f0" if c == "theta0" else c for c in moving]
    if x is None:
        numeric = [c for c in moving if c in NUMERIC_X]
        if len(moving) == 1 and numeric:
            x = numeric[0]
        elif not moving:
            raise PlotError(
                f"nothing to plot against: no parameter varies within a panel of {table.path} "
                f"(panels are noise × schedule); choose the x axis with --x "
                f"({'|'.join(NUMERIC_X)})"
            )
        else:
            def values(c):
                col = "theta0" if c == "f0" else c
                return max(len(varying(r, col)) for r in panels.values())

            counts = ", ".join(f"{c}: {values(c)} values" for c in moving)
            hint = max(numeric, key=values) if numeric else "eta"
            other = next((c for c in moving if c != hint), moving[0])
            example = next(r[other] for r in table.rows if r.get(other, "") != "")
            raise PlotError(
                f"several parameters vary ({counts}): choose the x axis with --x {hint} "
                f"(the others become separate lines) or filter with --where {other}={example}"
            )
    if x not in NUMERIC_X:
        raise PlotError(f"--x {x}: unknown x axis; choose one of {', '.join(NUMERIC_X)}")
    if x not in table.header:
        raise PlotError(f"--x {x}: {table.path} has no column {x}")
    others = [c for c in moving if c != x and not (x == "f0" and c == "theta0")
              and not (x == "theta0" and c == "f0")]
    return x, others


def plot_sweep(args) -> None:
    table = read_tables(args.csv)
    table.require(SWEEP_REQUIRED, "a `lojasim sweep --out` (or `run --out`) CSV")
    targets = output_plan(args.out, str(Path(args.csv[0]).with_suffix("")) + "-sweep", args.format)
    table = filter_rows(table, parse_where(args.where, table))
    if not table.rows:
        raise PlotError(f"nothing to plot: {table.path} has a header but no rows")
    # Under minibatch noise the sigma cell is σ̂, estimated per point (or a --sigma override used
    # only by the bound), not a setting of the simulation: it must not split points into lines.
    if "sigma" in table.header:
        for r in table.rows:
            if r.get("noise") == "minibatch":
                r["sigma"] = ""

    panels: dict = {}
    for i, r in enumerate(table.rows):
        panels.setdefault((r["noise"], r["schedule"]), []).append(i)
    panels = {k: panels[k] for k in sorted(panels, key=panel_sort_key)}
    x, line_cols = choose_axes(table, args.x, {k: [table.rows[i] for i in v]
                                               for k, v in panels.items()})

    def line_key(i):
        return tuple(table.rows[i].get(c, "") for c in line_cols)

    line_keys = list(dict.fromkeys(line_key(i) for i in range(len(table.rows))))
    if len(line_keys) > MAX_LINES:
        raise PlotError(
            f"{len(line_keys)} combinations of {', '.join(line_cols)} would each be a line: "
            f"filter with --where (e.g. --where {line_cols[0]}={table.rows[0][line_cols[0]]})"
            " or choose another --x"
        )
    colors = {k: plt.cm.tab10(j % 10) for j, k in enumerate(line_keys)}

    xs_all = [table.number(i, x) for i in range(len(table.rows))]
    if all(math.isnan(v) for v in xs_all):
        raise PlotError(f"nothing to plot: column {x} is empty in every row of {table.path}")
    logx = args.logx if args.logx is not None else log_spans_decade(
        [v for v in xs_all if not math.isnan(v)])

    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n + 0.6, 4.2), sharex=True, sharey=True,
                             squeeze=False)
    axes = axes[0]
    any_vacuous = any_bound = any_violated = False
    for ax, (key, idx) in zip(axes, panels.items()):
        for lk in line_keys:
            pts = [i for i in idx if line_key(i) == lk and not math.isnan(xs_all[i])]
            if not pts:
                continue
            pts.sort(key=lambda i: xs_all[i])
            xv = np.array([xs_all[i] for i in pts])
            dup = [a for a, b in zip(xv, xv[1:]) if a == b]
            if dup:
                raise PlotError(
                    f"two rows at {x} = {fmt_value(dup[0])} in the same line of panel "
                    f"{key[0]}/{key[1]}: shard rows (combine them with `lojasim merge`) or a "
                    "parameter this script does not separate; filter with --where"
                )
            col = colors[lk]
            for q, style, marker in (("stay", "-", "o"), ("converge", "--", "s")):
                p = np.array([table.number(i, f"{q}_p") for i in pts])
                lo = np.array([table.number(i, f"{q}_lo") for i in pts])
                hi = np.array([table.number(i, f"{q}_hi") for i in pts])
                ax.fill_between(xv, lo, hi, color=col, alpha=0.18, linewidth=0)
                ax.plot(xv, p, style, marker=marker, ms=4, color=col, lw=1.5)
            # The two bounds often coincide (ρ^K·F(θ0)/ε tiny): the thick dotted one stays visible.
            for q, style, width in (("stay", ":", 2.4), ("converge", "-.", 1.1)):
                column = f"{q}_bound"
                if column not in table.header:
                    continue
                b = np.array([table.number(i, column) for i in pts])
                present = ~np.isnan(b)
                if not present.any():
                    continue
                any_bound = True
                shown = np.where(present & (b > 0), b, np.nan)
                ax.plot(xv, shown, style, color=col, lw=width)
                vac = present & (b <= 0)
                if vac.any():
                    any_vacuous = True
                    mark_vacuous(ax, xv, vac, col, logx, gid=f"vacuous-{q}-{key[0]}-{key[1]}")
            if "bound_status" in table.header:
                bad = [i for i in pts if table.rows[i]["bound_status"] == "violated"]
                if bad:
                    any_violated = True
                    ax.plot([xs_all[i] for i in bad], [table.number(i, "stay_p") for i in bad],
                            "x", color="black", ms=9, mew=2, gid="violated")
        if "stay_bound" in table.header and all(table.rows[i]["stay_bound"] == "" for i in idx):
            ax.text(0.5, 0.5, "no theoretical bound here:\n" + not_applicable_reason(table, idx),
                    transform=ax.transAxes, ha="center", va="center", fontsize=8.5,
                    color="0.35", gid="bound-not-applicable")
        ax.set_title(panel_title(key, [table.rows[i] for i in idx]))
        ax.set_xlabel(LABELS[x][0])
        ax.grid(True, which="major", alpha=0.3)
    if logx:
        axes[0].set_xscale("log")
    axes[0].set_ylim(-0.06, 1.04)
    axes[0].set_ylabel("probability")

    handles = [
        Line2D([], [], color="0.2", ls="-", marker="o", ms=4, label="P(stay in ball through K)"),
        Line2D([], [], color="0.2", ls="--", marker="s", ms=4, label="P(converge: stay, F(θ_K) ≤ ε)"),
        Patch(color="0.2", alpha=0.18, label="confidence band"),
    ]
    if any_bound:
        handles += [Line2D([], [], color="0.2", ls=":", lw=2.4, label="bound 1 − δ on P(stay)"),
                    Line2D([], [], color="0.2", ls="-.", lw=1.1, label="bound 1 − δ − ρ^K F(θ0)/ε on P(converge)")]
    if any_vacuous:
        handles.append(Patch(facecolor="none", edgecolor=VACUOUS_COLOR, hatch="////",
                             label="vacuous: bound ≤ 0 (says nothing)"))
    if any_violated:
        handles.append(Line2D([], [], color="black", ls="", marker="x", mew=2,
                              label="violated: interval below bound"))
    if len(line_keys) > 1:
        for lk in line_keys:
            label = ", ".join(f"{LABELS.get(c, (c, c))[1]} = {fmt_value(v)}"
                              for c, v in zip(line_cols, lk) if v != "")
            handles.append(Patch(color=colors[lk], label=label))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.92), frameon=False,
               title=interval_caption(table.rows), title_fontsize=8.5)
    fig.suptitle(sweep_title(table), y=1.02)
    fig.tight_layout()
    save(fig, targets, args.dpi)


def mark_vacuous(ax, xv, vac, color, logx, gid):
    """A hatched band under 0 over each stretch of points whose bound is ≤ 0, reaching halfway to
    the neighbouring points (in the axis' scale), and a marker at each such point."""
    t = np.log10(xv) if logx else xv.astype(float)
    half = np.diff(t) / 2 if len(t) > 1 else np.array([])
    j = 0
    while j < len(vac):
        if not vac[j]:
            j += 1
            continue
        start = j
        while j + 1 < len(vac) and vac[j + 1]:
            j += 1
        left = t[start] - (half[start - 1] if start > 0 else (half[0] if len(half) else 0.05))
        right = t[j] + (half[j] if j < len(half) else (half[-1] if len(half) else 0.05))
        lo, hi = (10 ** left, 10 ** right) if logx else (left, right)
        ax.fill_between([lo, hi], -0.05, 0, facecolor="none", edgecolor=color, hatch="////",
                        linewidth=0, gid=gid)
        j += 1
    ax.plot(xv[vac], np.zeros(vac.sum()) - 0.025, "v", color=color, ms=5, mec=VACUOUS_COLOR,
            gid=gid + "-points")


def not_applicable_reason(table: Table, idx) -> str:
    reasons = []
    rows = [table.rows[i] for i in idx]
    if any(r["noise"] == "bounded" for r in rows):
        reasons.append("bounded noise does not vanish at the minima")
    if any(r["schedule"] == "robbins-monro" for r in rows):
        reasons.append("the theorem needs a constant step")
    if not reasons and "rho" in table.header and any(
            r["rho"] and float(r["rho"]) >= 1 for r in rows):
        reasons.append("ρ ≥ 1: no contraction")
    return "\n".join(reasons) or "not applicable (see bound_status)"


def sweep_title(table: Table) -> str:
    rows = table.rows
    total = "traj_total" if "traj_total" in table.header else "trajectories"
    parts = [summarize([r.get("problem", "") for r in rows], "problem"),
             summarize([r.get("dim", "") for r in rows], "d"),
             summarize([r.get(total, "") for r in rows], "N"),
             summarize([r.get("steps", "") for r in rows], "K"),
             summarize([r.get("eps", "") for r in rows], "ε")]
    if "looks" in table.header and any(r["looks"] for r in rows):
        parts[2] = (parts[2] or "N") + " (cap, precision target)"
    head = "lojasim sweep — " + ", ".join(p.replace("problem = ", "") for p in parts if p)
    noises = ", ".join(dict.fromkeys(r["noise"] for r in rows))
    return f"{head}; noise: {noises}"


# ---------------------------------------------------------------- curves


def wilson(count: np.ndarray, n: int, confidence: float):
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = np.where(count == 0, 0.0, centre - half)
    hi = np.where(count == n, 1.0, centre + half)
    return lo, hi


def plot_curves(args) -> None:
    table = read_csv(args.csv)
    table.require(CURVES_REQUIRED, "a `--curves-out` CSV")
    targets = output_plan(args.out, str(Path(args.csv).with_suffix("")) + "-curves", args.format)
    if not table.rows:
        raise PlotError(f"nothing to plot: {table.path} has a header but no rows")

    params = None
    if args.sweep:
        params = read_tables(args.sweep)
        if "config_id" not in params.header and len(params.rows) != 1:
            raise PlotError(f"{params.path}: no config_id column; pass a `lojasim sweep` CSV")
        params = filter_rows(params, parse_where(args.where, params))
    elif args.where:
        raise PlotError("--where filters on parameters: it needs --sweep SWEEP.csv")

    curves: dict = {}
    for i, r in enumerate(table.rows):
        curves.setdefault((r["config_id"], r["traj_start"], r["traj_end"]), []).append(i)
    if args.config:
        wanted = set(args.config)
        unknown = wanted - {k[0] for k in curves}
        if unknown:
            raise PlotError(f"--config {sorted(unknown)[0]}: no such config_id in {table.path}")
        curves = {k: v for k, v in curves.items() if k[0] in wanted}

    info = {}  # config_id -> sweep row
    if params is not None:
        if "config_id" in params.header:
            info = {r["config_id"]: r for r in params.rows}
            curves = {k: v for k, v in curves.items() if k[0] in info}
            if not curves:
                raise PlotError(
                    f"nothing to plot: no config_id of {table.path} is in {params.path}"
                    + (" after --where" if args.where else ""))
        elif len(curves) == 1:  # a one-row `run --out` CSV beside its curves
            info = {next(iter(curves))[0]: params.rows[0]}
    if len(curves) > MAX_CURVES:
        raise PlotError(
            f"{len(curves)} curves would be drawn: select some with --config ID or, with "
            "--sweep SWEEP.csv, --where COL=VALUE"
        )

    label_cols = []
    if info:
        rows = list(info.values())
        label_cols = [c for c in PARAMETERS if c in params.header and varying(rows, c)]
        if "theta0" in label_cols and "f0" in params.header:
            label_cols[label_cols.index("theta0")] = "f0"
    confidence = float(args.confidence)
    fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(11, 4.3))
    any_bound = False
    for j, (key, idx) in enumerate(curves.items()):
        cid, start, end = key
        n = table.integer(idx[0], "traj_end") - table.integer(idx[0], "traj_start")
        if n <= 0:
            raise PlotError(f"{table.path} line {table.lines[idx[0]]}: traj_end ≤ traj_start")
        idx = sorted(idx, key=lambda i: table.integer(i, "k"))
        k = np.array([table.integer(i, "k") for i in idx])
        count = np.array([table.integer(i, "stay_count") for i in idx])
        if (count < 0).any() or (count > n).any():
            raise PlotError(f"{table.path}: config {cid}: stay_count outside [0, {n}]")
        mean = np.array([table.number(i, "loss_mean") for i in idx])
        se = np.array([table.number(i, "loss_se") for i in idx])
        bound = np.array([table.number(i, "loss_bound") for i in idx])
        color = plt.cm.tab10(j % 10)
        if info.get(cid) is not None and label_cols:
            label = ", ".join(f"{LABELS.get(c, (c, c))[1]} = {fmt_value(info[cid].get(c, ''))}"
                              for c in label_cols if info[cid].get(c, "") != "")
        elif info.get(cid) is not None:
            label = f"{info[cid].get('noise', '')} noise"
        else:
            label = f"config {cid[:8]}"
        lo, hi = wilson(count, n, confidence)
        # The tally's grid thins out after k = 100: join its points, claim nothing in between.
        ax_s.fill_between(k, lo, hi, color=color, alpha=0.2, linewidth=0)
        ax_s.plot(k, count / n, color=color, lw=1.5, label=f"{label} (N = {n})")
        positive = np.where(mean > 0, mean, np.nan)
        ax_l.fill_between(k, np.clip(mean - se, positive * 1e-3, None), mean + se, color=color,
                          alpha=0.2, linewidth=0)
        ax_l.plot(k, positive, color=color, lw=1.5, label=label)
        if not np.isnan(bound).all():
            any_bound = True
            ax_l.plot(k, np.where(bound > 0, bound, np.nan), "--", color=color, lw=1.2)
    ax_s.set_xlabel("step k")
    ax_s.set_ylabel("P(stay in ball through step k)")
    ax_s.set_ylim(-0.03, 1.03)
    ax_s.set_title(f"survival (bands: Wilson {confidence * 100:g} %, pointwise)")
    ax_l.set_yscale("log")
    ax_l.set_xlabel("step k")
    ax_l.set_ylabel("E[F(θ_k)·1{stayed through k}]")
    ax_l.set_title("contraction (band: ± 1 standard error)")
    if args.logk:
        for ax in (ax_s, ax_l):
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(left=0)
    for ax in (ax_s, ax_l):
        ax.grid(True, alpha=0.3)
    ax_s.legend(loc="lower left", frameon=False)
    handles = [Line2D([], [], color="0.2", lw=1.5, label="measured mean")]
    if any_bound:
        handles.append(Line2D([], [], color="0.2", ls="--", label="bound ρ^k·F(θ0)"))
    else:
        handles.append(Line2D([], [], color="0.2", ls="", label="(no bound applies)"))
    ax_l.legend(handles=handles, loc="lower left", frameon=False)
    title = "lojasim curves"
    if info:
        rows = list(info.values())
        parts = [summarize([r.get("problem", "") for r in rows], "problem"),
                 summarize([r.get("dim", "") for r in rows], "d"),
                 summarize([r.get("noise", "") for r in rows], "noise"),
                 summarize([r.get("steps", "") for r in rows], "K")]
        title += " — " + ", ".join(p.replace("problem = ", "") for p in parts if p)
    ns = sorted({int(e) - int(s) for _, s, e in curves})
    title += f"; N = {'/'.join(map(str, ns))} per curve"
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, targets, args.dpi)


# ---------------------------------------------------------------- traces


def plot_traces(args) -> None:
    table = read_csv(args.csv)
    table.require(TRACE_REQUIRED, "a `lojasim run --trace N FILE` CSV")
    targets = output_plan(args.out, str(Path(args.csv).with_suffix("")) + "-traces", args.format)
    run = None
    if args.run_csv:
        run = read_csv(args.run_csv)
        run.require(["radius"], "a `lojasim run --out` CSV")
        radii = list(dict.fromkeys(r["radius"] for r in run.rows))
        if len(radii) != 1:
            raise PlotError(f"{args.run_csv}: expected one radius, found {len(radii)}; "
                            "pass --radius R")
        radius = run.number(0, "radius")
    else:
        radius = args.radius
    if not (radius > 0 and math.isfinite(radius)):
        raise PlotError(f"--radius must be > 0 (got {radius})")
    if not table.rows:
        raise PlotError(f"nothing to plot: {table.path} has a header but no rows")

    paths: dict = {}
    for i, r in enumerate(table.rows):
        paths.setdefault(table.integer(i, "trajectory"), []).append(i)
    ids = sorted(paths)[: args.max_trajectories]
    fig, (ax_f, ax_d) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    exits = 0
    for j, t in enumerate(ids):
        idx = sorted(paths[t], key=lambda i: table.integer(i, "k"))
        k = np.array([table.integer(i, "k") for i in idx])
        loss = np.array([table.number(i, "loss") for i in idx])
        dist = np.array([table.number(i, "distance") for i in idx])
        color = plt.cm.tab10(j % 10)
        ax_f.plot(k, np.where(loss > 0, loss, np.nan), color=color, lw=1.1, label=f"#{t}")
        ax_d.plot(k, dist, color=color, lw=1.1)
        out = np.nonzero(~(dist <= radius))[0]  # NaN distance (a non-finite iterate) is outside
        if len(out):
            exits += 1
            e = out[0]
            shown = dist[e] if math.isfinite(dist[e]) else radius
            ax_d.plot(k[e], shown, "x", color=color, ms=8, mew=2, gid="exit")
    ax_d.axhline(radius, color="black", lw=1.3, ls="--", gid="radius")
    ax_f.set_yscale("log")
    ax_f.set_ylabel("loss F(θ_k)")
    ax_d.set_ylabel("distance |θ_k − θ0|")
    ax_d.set_xlabel("step k")
    handles = [Line2D([], [], color="black", ls="--", label=f"ball radius r = {fmt_value(radius)}")]
    if exits:
        handles.append(Line2D([], [], color="0.2", ls="", marker="x", mew=2,
                              label=f"first step outside the ball ({exits} of {len(ids)})"))
    ax_d.legend(handles=handles, loc="best", frameon=False)
    if len(ids) <= 10:  # beside the panel: inside it would hide the paths
        ax_f.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                    title="trajectory")
    for ax in (ax_f, ax_d):
        ax.grid(True, alpha=0.3)
    title = f"lojasim run — sample paths of {len(ids)} trajectories"
    if len(paths) > len(ids):
        title += f" (first {len(ids)} of {len(paths)})"
    if run is not None and run.rows:
        r = run.rows[0]
        bits = [r.get("problem", ""), f"d = {r['dim']}" if r.get("dim") else "",
                f"{r['noise']} noise" if r.get("noise") else "",
                f"σ = {fmt_value(r['sigma'])}" if r.get("sigma") else "",
                f"η = {fmt_value(r['eta'])}" if r.get("eta") else "",
                (f"Robbins–Monro η_k = γ/(k+n0)^q, γ = {fmt_value(r.get('gamma', ''))}, "
                 f"n0 = {fmt_value(r.get('n0', ''))}, q = {fmt_value(r.get('q', ''))}")
                if r.get("schedule") == "robbins-monro" else "",
                f"K = {r['steps']}" if r.get("steps") else ""]
        title += "\n" + ", ".join(b for b in bits if b)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, targets, args.dpi)


# ---------------------------------------------------------------- command line


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    return v


def level(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1) (got {text})")
    return v


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="plot.py", description="Figures from lojasim CSV output.")
    sub = top.add_subparsers(dest="command", required=True)

    def common(p, what):
        p.add_argument("--out", "-o", metavar="STEM",
                       help=f"output path without extension (default: the input's name + -{what})")
        p.add_argument("--format", default="png", metavar="FMT[,FMT]",
                       help="comma list of png, svg, pdf (default png)")
        p.add_argument("--dpi", type=positive_int, default=150,
                       help="resolution of PNG output in dots per inch (default 150)")

    s = sub.add_parser("sweep", help="P(stay), P(converge) and bounds against a swept parameter")
    s.add_argument("csv", nargs="+", help="`lojasim sweep --out` CSV file(s) with the same columns")
    s.add_argument("--x", help=f"the x axis: {', '.join(NUMERIC_X)} (default: the one that varies)")
    s.add_argument("--where", action="append", metavar="COL=VALUE",
                   help="keep only rows with this value (repeatable)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--logx", action="store_true", default=None, help="log x axis")
    g.add_argument("--linx", dest="logx", action="store_false", help="linear x axis")
    common(s, "sweep")
    s.set_defaults(run=plot_sweep)

    c = sub.add_parser("curves", help="survival and contraction curves from --curves-out")
    c.add_argument("csv", help="`--curves-out` CSV file")
    c.add_argument("--sweep", action="append", metavar="SWEEP.csv",
                   help="the matching `sweep --out` CSV, to label curves by parameters (repeatable)")
    c.add_argument("--config", action="append", metavar="ID", help="plot only this config_id")
    c.add_argument("--where", action="append", metavar="COL=VALUE",
                   help="keep only points whose sweep row has this value (needs --sweep)")
    c.add_argument("--confidence", type=level, default=0.95,
                   help="level of the pointwise Wilson bands on survival (default 0.95)")
    c.add_argument("--logk", action="store_true", help="symmetric-log k axis")
    common(c, "curves")
    c.set_defaults(run=plot_curves)

    t = sub.add_parser("traces", help="sample paths from `lojasim run --trace N FILE`")
    t.add_argument("csv", help="trace CSV: trajectory,k,loss,distance")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--radius", type=positive_float, help="the ball radius r")
    src.add_argument("--run-csv", metavar="RUN.csv",
                     help="the run's `--out` CSV (radius and title from it)")
    t.add_argument("--max-trajectories", type=int, default=20, metavar="N",
                   help="draw at most the first N trajectories (default 20)")
    common(t, "traces")
    t.set_defaults(run=plot_traces)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except PlotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
