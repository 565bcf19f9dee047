#!/usr/bin/env python3
"""Figures from lojasim's CSV output.

    plot.py sweep  SWEEP.csv [MORE.csv ...] [--y auto|stay|exit] [--x COL] [--where COL=VALUE ...]
    plot.py curves CURVES.csv [--sweep SWEEP.csv ...] [--config ID ...] [--where COL=VALUE ...]
    plot.py traces TRACE.csv (--radius R | --run-csv RUN.csv)

Every subcommand takes --out STEM (writes STEM.png, STEM.svg, ...), --format png,svg, and
--width, --font-size or --style paper (one journal column, PDF).
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
import textwrap
from pathlib import Path
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")  # headless: no display is needed or used

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator  # noqa: E402

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
# --style: "screen" sizes the figure to its panels; "paper" is one journal column, vector output.
STYLES = {
    "screen": {"width": None, "font_size": 10, "format": "png", "dpi": 150},
    "paper": {"width": 3.4, "font_size": 8, "format": "pdf", "dpi": 300},
}
MIN_WIDTH, MAX_WIDTH = 1.5, 40.0
ESTIMATOR_NAMES = {"mc": "crude Monte Carlo", "ams": "splitting (ams)"}
SERIES_MARKER = {"mc": "o", "ams": "D"}
SERIES_STYLE = {"mc": "-", "ams": "--"}

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
EXIT_REQUIRED = ["exit_p", "exit_lo", "exit_hi", "delta"]
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
            metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
            # A constrained layout already fits the requested width: keep it exact.
            tight = None if fig.get_layout_engine() is not None else "tight"
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches=tight, metadata=metadata)
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
    text = f"{x:.4g}" if not 0 < abs(x) < 1e-3 else f"{x:.4e}"
    if "e" in text:  # 1.17e-4, not 0.0001171 or 1.1710e-04
        mantissa, exponent = text.split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}e{int(exponent)}"
    return text


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
    # Crude Monte Carlo and splitting name different intervals: that is the estimator's marker.
    if "ci_method" in moving and all(
            len(varying([r for r in table.rows if (r.get("estimator") or "mc") == e],
                        "ci_method")) == 0
            for e in {r.get("estimator") or "mc" for r in table.rows}):
        moving.remove("ci_method")
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


def resolve_style(args) -> dict:
    """Figure width (inches, None: as wide as the panels need), base font size, default format
    and resolution: from --style, overridden by --width, --font-size, --format and --dpi."""
    base = STYLES[args.style]
    style = dict(base)
    if args.width is not None:
        if not (MIN_WIDTH <= args.width <= MAX_WIDTH):
            raise PlotError(f"--width must be between {MIN_WIDTH:g} and {MAX_WIDTH:g} inches "
                            f"(got {args.width:g}); a journal column is about 3.4")
        style["width"] = args.width
    if args.font_size is not None:
        if not (4 <= args.font_size <= 30):
            raise PlotError(f"--font-size must be between 4 and 30 points (got {args.font_size:g})")
        style["font_size"] = args.font_size
    style["format"] = args.format or base["format"]
    style["dpi"] = args.dpi or base["dpi"]
    style["paper"] = args.style == "paper"
    return style


def style_rc(style: dict) -> dict:
    fs = style["font_size"]
    rc = {"font.size": fs, "axes.titlesize": fs, "axes.labelsize": fs,
          "xtick.labelsize": 0.9 * fs, "ytick.labelsize": 0.9 * fs,
          "legend.fontsize": 0.85 * fs, "legend.title_fontsize": 0.85 * fs,
          "figure.titlesize": fs}
    if style["paper"]:
        rc.update({"lines.linewidth": 1.0, "lines.markersize": 4, "axes.linewidth": 0.6,
                   "xtick.major.width": 0.6, "ytick.major.width": 0.6,
                   "xtick.minor.width": 0.4, "ytick.minor.width": 0.4})
    return rc


def line_height(style: dict) -> float:
    """Height of one line of text in inches."""
    return style["font_size"] * 1.45 / 72


def wrap_parts(parts: list[str], width_in: float, font_size: float, sep: str = ", ") -> list[str]:
    """Joins the parts into lines that fit width_in at font_size (never breaking inside a part)."""
    room = max(20, int(width_in * 72 / (0.53 * font_size)))
    lines, cur = [], ""
    for p in parts:
        candidate = p if not cur else cur + sep + p
        if cur and len(candidate) > room:
            lines.append(cur + sep.rstrip())
            cur = p
        else:
            cur = candidate
    if cur:
        lines.append(cur)
    return lines


def panel_grid(n: int, style: dict):
    """Columns, rows, figure width and panel height: the panels side by side on a wide figure,
    stacked on a narrow one (a panel narrower than ~29 characters is unreadable)."""
    fs = style["font_size"]
    if style["width"] is None:
        ncols, width = n, 4.0 * n + 0.3
    else:
        width = style["width"]
        ncols = max(1, min(n, int(width // (0.29 * fs))))
    nrows = math.ceil(n / ncols)
    pw = width / ncols
    ph = min(3.3, max(1.6, pw * (0.72 if nrows == 1 else 0.56)))
    return ncols, nrows, width, ph


def make_panels(n: int, style: dict, extra_lines: float):
    """A figure of n panels sharing both axes, with room for extra_lines lines of text (title,
    legend); constrained layout keeps everything inside the requested width."""
    ncols, nrows, width, ph = panel_grid(n, style)
    height = nrows * ph + extra_lines * line_height(style) + 0.35
    fig = plt.figure(figsize=(width, height), layout="constrained")
    grid = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    axes = [grid[j // ncols][j % ncols] for j in range(n)]
    for j in range(n, nrows * ncols):
        grid[j // ncols][j % ncols].set_visible(False)
    bottom = set()
    for j in range(n):  # the lowest panel of each column carries the x axis labels
        if j + ncols >= n:
            bottom.add(j)
            axes[j].xaxis.set_tick_params(labelbottom=True)
    left = {j for j in range(n) if j % ncols == 0}
    return fig, axes, bottom, left


def fit_legend(handles, title: str, width_in: float, font_size: float):
    """Chooses the number of legend columns that makes the legend shortest within the figure's
    width, wrapping labels that would not fit their column; returns it and the wrapped title."""
    char = 0.5 * 0.85 * font_size / 72  # inches per character of legend text, roughly
    labels = [h.get_label() for h in handles]
    best = None
    for ncol in range(1, min(len(handles), 6) + 1):
        room = int((width_in / ncol - 0.6) / char)
        if room < 14:
            break
        wrapped = [textwrap.fill(t, room) for t in labels]
        lines = [w.count("\n") + 1 for w in wrapped]
        # matplotlib fills the columns top to bottom
        rows = math.ceil(len(labels) / ncol)
        height = sum(max(lines[c * rows + r] for c in range(ncol) if c * rows + r < len(lines))
                     for r in range(rows))
        if best is None or height < best[0]:
            best = (height, ncol, wrapped)
    if best is None:
        best = (0, 1, [textwrap.fill(t, max(14, int((width_in - 0.6) / char))) for t in labels])
    for h, w in zip(handles, best[2]):
        h.set_label(w)
    return best[1], textwrap.fill(title, int(width_in / char)), best[0]


def exit_axis(axes, floor: float) -> None:
    """The log axis of P(exit) and δ: decades up to 1, the vacuous band above, and at the bottom
    the row "0" for P(exit) = 0 and intervals that reach 0, set apart by a break mark (it is
    not the value printed a decade above it)."""
    top = exit_top(floor)
    kf = round(math.log10(floor))
    step = max(1, math.ceil((-kf - 1) / 6))
    ticks = [floor] + [10.0 ** e for e in range(kf + 1, 1) if (-e) % step == 0]
    ax = axes[0]
    ax.set_yscale("log")
    ax.set_ylim(floor / 10 ** (-0.025 * kf), top)
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda y, _: "0" if abs(math.log10(y) - kf) < 1e-6 else f"$10^{{{round(math.log10(y))}}}$"))
    ax.yaxis.set_minor_locator(NullLocator())
    gap = 10 ** (0.035 * -kf)
    for a in axes:
        for xa in (0, 1):
            a.plot([xa, xa], [floor * 10 ** 0.5 / gap, floor * 10 ** 0.5 * gap], ls="",
                   marker=[(-1, -0.5), (1, 0.5)], ms=7, mew=0.9, color="black", clip_on=False,
                   transform=a.get_yaxis_transform(), gid="axis-break")


def dodge_offsets(count: int, xs, logx: bool) -> list[float]:
    """Sideways offsets (in axis units: decades on a log axis) for `count` series, so that markers
    sitting on the same value (P = 1, P(exit) = 0) stay visible: together they span 30 % of the
    smallest gap between x values, at most 6 % of the whole range."""
    if count <= 1:
        return [0.0] * max(count, 1)
    t = np.unique(np.log10(xs) if logx else np.asarray(xs, dtype=float))
    if len(t) > 1:
        spread = min(0.4 * np.diff(t).min(), 0.06 * (t[-1] - t[0]))
    else:
        spread = 0.05 if logx else 0.05 * (abs(t[0]) or 1.0)
    step = spread / (count - 1)
    return [(k - (count - 1) / 2) * step for k in range(count)]


def shifted(xv, offset: float, logx: bool):
    return xv * 10 ** offset if logx else xv + offset


def bound_reason(row: dict) -> str:
    """Why lojasim left a bound cell empty (one row)."""
    if row.get("noise") == "bounded":
        return "bounded noise"
    if row.get("schedule") == "robbins-monro":
        return "Robbins–Monro"
    if row.get("activation") == "relu":
        return "ReLU not smooth"
    try:
        if row.get("rho", "") and float(row["rho"]) >= 1:
            return "ρ ≥ 1"
    except ValueError:
        pass
    return "no bound"


def draw_bound(ax, xv, v, vacuous, color, style, width, logx, logy, threshold, gid):
    """A bound over the points where it is informative, continued to where it crosses into the
    vacuous region (threshold: 0 for 1 − δ, 1 for δ) next to a vacuous point. Returns the ends
    where it stops next to a point without a bound: (x, y, side, index of that point)."""
    informative = ~np.isnan(v) & ~vacuous
    tx = np.log10(xv) if logx else xv.astype(float)

    def ty(y):
        return np.log10(y) if logy else y

    def cross(i, j):  # where the bound meets the threshold between informative i and vacuous j
        if not math.isfinite(v[j]):
            t = tx[i] + 0.5 * (tx[j] - tx[i])
        else:
            a, b = ty(v[i]), ty(v[j])
            t = tx[i] + (ty(threshold) - a) / (b - a) * (tx[j] - tx[i]) if b != a else tx[j]
        return (10 ** t if logx else t), threshold

    ends = []
    j = 0
    while j < len(v):
        if not informative[j]:
            j += 1
            continue
        start = j
        while j + 1 < len(v) and informative[j + 1]:
            j += 1
        px, py = list(xv[start:j + 1]), list(v[start:j + 1])
        if start > 0 and vacuous[start - 1]:
            cx, cy = cross(start, start - 1)
            px.insert(0, cx)
            py.insert(0, cy)
        elif start > 0:
            ends.append((xv[start], v[start], "left", start - 1))
        if j + 1 < len(v) and vacuous[j + 1]:
            cx, cy = cross(j, j + 1)
            px.append(cx)
            py.append(cy)
        elif j + 1 < len(v):
            ends.append((xv[j], v[j], "right", j + 1))
        ax.plot(px, py, style, color=color, lw=width, gid=gid,
                marker="_" if len(px) == 1 else None, ms=9)
        j += 1
    return ends


def mark_bound_ends(ax, ends, color, gid="bound-end"):
    """A bar across each end of a bound line where the next point has no bound."""
    for x, y, side, _ in ends:
        ax.plot([x], [y], "|", color=color, ms=7, mew=1.4, gid=gid)


def mark_not_applicable(ax, xv, missing, rows, color, logx, y, gid):
    """On the bound row (where vacuous points are marked), the reason a line's bound is missing
    over each stretch of points without one: "ρ ≥ 1", "bounded noise"."""
    j = 0
    while j < len(missing):
        if not missing[j]:
            j += 1
            continue
        start = j
        while j + 1 < len(missing) and missing[j + 1] and \
                bound_reason(rows[j + 1]) == bound_reason(rows[start]):
            j += 1
        a, b = xv[start], xv[j]
        centre = math.sqrt(a * b) if logx else (a + b) / 2
        ax.text(centre, y, bound_reason(rows[start]), ha="center", va="center",
                fontsize="x-small", color=color, gid=gid, clip_on=False,
                bbox=dict(facecolor="white", edgecolor="none", pad=0.6, alpha=0.85))
        j += 1


def sweep_layout_check(table, panels, line_key, series_key, xs_all, x):
    """Two rows at one x in one line (and estimator) are unmerged shard rows or a parameter this
    script does not separate: refused rather than drawn on top of each other."""
    for key, idx in panels.items():
        seen = {}
        for i in idx:
            if math.isnan(xs_all[i]):
                continue
            k = (line_key(i), series_key(i), xs_all[i])
            if k in seen:
                raise PlotError(
                    f"two rows at {x} = {fmt_value(xs_all[i])} in the same line of panel "
                    f"{key[0]}/{key[1]}: shard rows (combine them with `lojasim merge`) or a "
                    "parameter this script does not separate; filter with --where"
                )
            seen[k] = i


def plot_sweep(args) -> None:
    style = args.style_resolved
    table = read_tables(args.csv)
    table.require(SWEEP_REQUIRED, "a `lojasim sweep --out` (or `run --out`) CSV")
    targets = output_plan(args.out, str(Path(args.csv[0]).with_suffix("")) + "-sweep",
                          style["format"])
    conditions = parse_where(args.where, table)
    table = filter_rows(table, conditions)
    if not table.rows:
        raise PlotError(f"nothing to plot: {table.path} has a header but no rows")
    # Under minibatch noise the sigma cell is σ̂, estimated per point (or a --sigma override used
    # only by the bound), not a setting of the simulation: it must not split points into lines.
    if "sigma" in table.header:
        for r in table.rows:
            if r.get("noise") == "minibatch":
                r["sigma"] = ""
    estimators = [r.get("estimator", "") or "mc" for r in table.rows]
    mode = args.y
    if mode == "auto":
        mode = "exit" if "ams" in estimators else "stay"
    if mode == "exit":
        table.require(EXIT_REQUIRED, "a `lojasim sweep --out` CSV with exit probabilities "
                      "(files without them: --y stay)")

    panels: dict = {}
    for i, r in enumerate(table.rows):
        panels.setdefault((r["noise"], r["schedule"]), []).append(i)
    panels = {k: panels[k] for k in sorted(panels, key=panel_sort_key)}
    x, line_cols = choose_axes(table, args.x, {k: [table.rows[i] for i in v]
                                               for k, v in panels.items()})

    def line_key(i):
        return tuple(table.rows[i].get(c, "") for c in line_cols)

    def series_key(i):
        return estimators[i]

    line_keys = list(dict.fromkeys(line_key(i) for i in range(len(table.rows))))
    if len(line_keys) > MAX_LINES:
        raise PlotError(
            f"{len(line_keys)} combinations of {', '.join(line_cols)} would each be a line: "
            f"filter with --where (e.g. --where {line_cols[0]}={table.rows[0][line_cols[0]]})"
            " or choose another --x"
        )
    colors = {k: plt.cm.tab10(j % 10) for j, k in enumerate(line_keys)}
    series_all = sorted(set(estimators), key=lambda e: (e != "mc", e))

    xs_all = [table.number(i, x) for i in range(len(table.rows))]
    if all(math.isnan(v) for v in xs_all):
        raise PlotError(f"nothing to plot: column {x} is empty in every row of {table.path}")
    finite_x = [v for v in xs_all if not math.isnan(v)]
    logx = args.logx if args.logx is not None else log_spans_decade(finite_x)
    if logx and min(finite_x) <= 0:
        raise PlotError(f"--logx: column {x} has values ≤ 0, which a log axis cannot show; "
                        "use --linx")
    sweep_layout_check(table, panels, line_key, series_key, xs_all, x)

    ctx = dict(table=table, x=x, xs_all=xs_all, logx=logx, colors=colors, line_keys=line_keys,
               line_cols=line_cols,
               line_key=line_key, series_key=series_key, series_all=series_all,
               offsets=None, style=style)
    ctx["offsets"] = {}  # per panel: only the series drawn there share the room
    for key, idx in panels.items():
        present = [(lk, s) for lk in line_keys for s in series_all
                   if any(line_key(i) == lk and series_key(i) == s for i in idx)]
        for ls, off in zip(present, dodge_offsets(len(present), finite_x, logx)):
            ctx["offsets"][(key, *ls)] = off
        # Nested markers: the first line's are the largest and drawn first, so points that
        # coincide (all at P = 1) show as rings of every colour, not as the last one drawn.
        lines_here = [lk for lk in line_keys if any(line_key(i) == lk for i in idx)]
        for r, lk in enumerate(lines_here):
            ctx.setdefault("grow", {})[(key, lk)] = min(4.0, 1.2 * (len(lines_here) - 1 - r))
    if mode == "exit":
        ctx["floor"] = exit_floor(table, range(len(table.rows)))

    # Legend and title first: their size decides how much height the panels get.
    flags = sweep_flags(table, panels, mode, ctx)
    handles = sweep_legend(mode, flags, ctx)
    width = panel_grid(len(panels), style)[2]
    caption = (exit_caption(table.rows, series_all) if mode == "exit"
               else interval_caption(table.rows))
    ncol, caption, legend_lines = fit_legend(handles, caption, width, style["font_size"])
    title = wrap_parts(sweep_title_parts(table, conditions, x, line_cols), width,
                       style["font_size"], sep=", ")
    extra = len(title) + 1.1 * legend_lines + caption.count("\n") + 1 + 2.2
    fig, axes, bottom, left = make_panels(len(panels), style, extra)

    panel_in = panel_grid(len(panels), style)
    panel_in = panel_in[2] / panel_in[0]
    for j, (ax, (key, idx)) in enumerate(zip(axes, panels.items())):
        ax.set_title(panel_title(key, [table.rows[i] for i in idx]))
        if mode == "exit":
            draw_exit_panel(ax, key, idx, ctx, flags)
        else:
            draw_stay_panel(ax, key, idx, ctx, flags)
        if j in bottom:
            ax.set_xlabel(LABELS[x][0])
        ax.grid(True, which="major", alpha=0.3)
    if logx:
        axes[0].set_xscale("log")
    else:  # as many x labels as fit the panel's width without touching
        axes[0].xaxis.set_major_locator(
            MaxNLocator(nbins=max(3, int(panel_in * 72 / (5 * style["font_size"])))))
    if mode == "exit":
        exit_axis(axes, ctx["floor"])
        for j in left:
            axes[j].set_ylabel("P(exit by step K) and δ")
    else:
        axes[0].set_ylim(-0.06, 1.04)
        for j in left:
            axes[j].set_ylabel("probability")
    fig.legend(handles=handles, loc="outside lower center", ncols=ncol, frameon=False,
               title=caption, columnspacing=1.2, handlelength=2.2)
    fig.suptitle("\n".join(title))
    save(fig, targets, style["dpi"])


def sweep_flags(table, panels, mode, ctx) -> dict:
    """What the figure will contain, known before drawing (the legend lists only what is there)."""
    rows = table.rows
    delta_col = "delta" if mode == "exit" else "stay_bound"
    flags = {"bound": False, "vacuous": False, "violated": False, "unresolved": False,
             "lo_zero": False, "no_hi": False, "ends": False, "nobound": {}}
    for key, idx in panels.items():
        panel_has_bound = any(rows[i].get(delta_col, "") != "" for i in idx)
        for i in idx:
            if math.isnan(ctx["xs_all"][i]):
                continue
            cell = rows[i].get(delta_col, "")
            if cell != "":
                flags["bound"] = True
                v = table.number(i, delta_col)
                if (mode == "exit" and v >= 1) or (mode == "stay" and v <= 0):
                    flags["vacuous"] = True
            if rows[i].get("bound_status", "") .startswith("violated"):
                flags["violated"] = True
            if mode == "exit":
                p, lo, hi = exit_values(table, i)
                if p == 0:
                    flags["unresolved"] = True
                    if math.isnan(hi):
                        flags["no_hi"] = True
                elif lo == 0:
                    flags["lo_zero"] = True
        if panel_has_bound:  # lines of this panel without any bound say why in the legend
            for lk in ctx["line_keys"]:
                mine = [i for i in idx if ctx["line_key"](i) == lk]
                if mine and all(rows[i].get(delta_col, "") == "" for i in mine):
                    flags["nobound"][lk] = bound_reason(rows[mine[0]])
    return flags


def line_label(ctx, lk) -> str:
    cols = ctx["line_cols"]
    return ", ".join(f"{LABELS.get(c, (c, c))[1]} = {fmt_value(v)}"
                     for c, v in zip(cols, lk) if v != "")


def sweep_legend(mode, flags, ctx) -> list:
    series = ctx["series_all"]
    handles = []
    if mode == "exit":
        for s in series:
            handles.append(Line2D([], [], color="0.2", ls=SERIES_STYLE.get(s, "-"),
                                  marker=SERIES_MARKER.get(s, "^"), ms=4,
                                  label=f"P(exit), {ESTIMATOR_NAMES.get(s, s)}"))
        if flags["bound"]:
            handles.append(Line2D([], [], color="0.2", ls=":", lw=2.2,
                                  label="δ: theorem says P(exit) ≤ δ"))
        if flags["vacuous"]:
            handles.append(Patch(facecolor="none", edgecolor=VACUOUS_COLOR, hatch="////",
                                 label="δ ≥ 1: vacuous (says nothing)"))
        if flags["unresolved"]:
            handles.append(Line2D([], [], color="0.2", ls="", marker="o", ms=5, mfc="white",
                                  label="P(exit) = 0: not resolved (on row 0)"))
        if flags["lo_zero"]:
            handles.append(Line2D([], [], color="0.2", ls="", marker="v", ms=4,
                                  label="interval reaches 0"))
        if flags["violated"]:
            handles.append(Line2D([], [], color="black", ls="", marker="x", mew=2,
                                  label="violated: interval above δ"))
    else:
        handles += [
            Line2D([], [], color="0.2", ls="-", marker="o", ms=4, label="P(stay through K)"),
            Line2D([], [], color="0.2", ls="--", marker="s", ms=4,
                   label="P(converge: stay, F(θ_K) ≤ ε)"),
            Patch(color="0.2", alpha=0.18, label="confidence band"),
        ]
        if "ams" in series:
            handles.append(Line2D([], [], color="0.2", ls="", marker="D", ms=4,
                                  label="P(stay) by splitting (ams)"))
        if flags["bound"]:
            handles += [Line2D([], [], color="0.2", ls=":", lw=2.4, label="bound 1 − δ on P(stay)"),
                        Line2D([], [], color="0.2", ls="-.", lw=1.1,
                               label="bound 1 − δ − ρ^K F(θ0)/ε on P(converge)")]
        if flags["vacuous"]:
            handles.append(Patch(facecolor="none", edgecolor=VACUOUS_COLOR, hatch="////",
                                 label="vacuous: bound ≤ 0 (says nothing)"))
        if flags["violated"]:
            handles.append(Line2D([], [], color="black", ls="", marker="x", mew=2,
                                  label="violated: interval below bound"))
    if len(ctx["line_keys"]) > 1:
        for lk in ctx["line_keys"]:
            label = line_label(ctx, lk)
            if lk in flags["nobound"]:
                label += f" (no bound: {flags['nobound'][lk]})"
            handles.append(Patch(color=ctx["colors"][lk], label=label))
    return handles


def series_points(idx, ctx, lk, s):
    pts = [i for i in idx if ctx["line_key"](i) == lk and ctx["series_key"](i) == s
           and not math.isnan(ctx["xs_all"][i])]
    return sorted(pts, key=lambda i: ctx["xs_all"][i])


def line_points(idx, ctx, lk):
    """The points of one line, one per x (the bound does not depend on the estimator)."""
    by_x = {}
    for i in sorted(idx, key=lambda i: (ctx["series_key"](i) != "mc", ctx["series_key"](i))):
        if ctx["line_key"](i) == lk and not math.isnan(ctx["xs_all"][i]):
            by_x.setdefault(ctx["xs_all"][i], i)
    return [by_x[v] for v in sorted(by_x)]


def draw_stay_panel(ax, key, idx, ctx, flags) -> None:
    table, logx, xs_all = ctx["table"], ctx["logx"], ctx["xs_all"]
    for lk in ctx["line_keys"]:
        col = ctx["colors"][lk]
        for s in ctx["series_all"]:
            pts = series_points(idx, ctx, lk, s)
            if not pts:
                continue
            xv = shifted(np.array([xs_all[i] for i in pts]), ctx["offsets"][(key, lk, s)], logx)
            for q, style, marker in (("stay", "-", "o"), ("converge", "--", "s")):
                if s == "ams":
                    marker = "D"
                p = np.array([table.number(i, f"{q}_p") for i in pts])
                lo = np.array([table.number(i, f"{q}_lo") for i in pts])
                hi = np.array([table.number(i, f"{q}_hi") for i in pts])
                if np.isnan(p).all():
                    continue  # splitting estimates no P(converge)
                ax.fill_between(xv, lo, hi, color=col, alpha=0.18, linewidth=0)
                ax.plot(xv, p, style, marker=marker, ms=4 + ctx["grow"][(key, lk)], color=col,
                        lw=1.5)
            bad = [i for i in pts if table.rows[i].get("bound_status", "").startswith("violated")]
            if bad:
                ax.plot(shifted(np.array([xs_all[i] for i in bad]), ctx["offsets"][(key, lk, s)],
                                logx),
                        [table.number(i, "stay_p") for i in bad],
                        "x", color="black", ms=9, mew=2, gid="violated")
        pts = line_points(idx, ctx, lk)
        if not pts:
            continue
        xv = np.array([xs_all[i] for i in pts])
        # The two bounds often coincide (ρ^K·F(θ0)/ε tiny): the thick dotted one stays visible.
        for q, style, width in (("stay", ":", 2.4), ("converge", "-.", 1.1)):
            column = f"{q}_bound"
            if column not in table.header:
                continue
            b = np.array([table.number(i, column) for i in pts])
            present = ~np.isnan(b)
            if not present.any():
                continue
            vac = present & (b <= 0)
            ends = draw_bound(ax, xv, b, vac, col, style, width, logx, False, 0.0,
                              gid=f"bound-{q}")
            mark_bound_ends(ax, ends, col)
            if q == "stay" and (~present).any():
                mark_not_applicable(ax, xv, ~present, [table.rows[i] for i in pts], col, logx,
                                    -0.025, gid="bound-not-applicable-reason")
            if vac.any():
                mark_vacuous(ax, xv, vac, col, logx, gid=f"vacuous-{q}-{key[0]}-{key[1]}")
    if "stay_bound" in table.header and all(table.rows[i]["stay_bound"] == "" for i in idx):
        note_no_bound(ax, table, idx)


def exit_values(table, i):
    """P(exit) and its interval at row i, checked to be probabilities (NaN: empty cell)."""
    vals = []
    for c in ("exit_p", "exit_lo", "exit_hi"):
        v = table.number(i, c)
        if not math.isnan(v) and not 0 <= v <= 1:
            raise PlotError(f"{table.path} line {table.lines[i]}: column {c}: {v:g} is not a "
                            "probability (outside [0, 1])")
        vals.append(v)
    p, lo, hi = vals
    if math.isnan(p):
        raise PlotError(f"{table.path} line {table.lines[i]}: column exit_p is empty")
    return p, (0.0 if math.isnan(lo) else lo), hi


def exit_floor(table, rows) -> float:
    """The bottom of the log axis: a decade below the smallest positive P(exit), interval end or
    informative δ, so that the points drawn on it (P(exit) = 0, intervals reaching 0) stand
    apart from every measured value."""
    positive = []
    for i in rows:
        if math.isnan(table.number(i, "exit_p")):
            continue
        positive += [v for v in exit_values(table, i) if v > 0]
        d = table.number(i, "delta")
        if 0 < d < 1:
            positive.append(d)
    lowest = min(positive) if positive else 1e-3
    return 10.0 ** (math.floor(math.log10(lowest)) - 1)


def exit_top(floor: float) -> float:
    """Above 1 the axis holds the band that marks a vacuous δ (≥ 1): 9 % of the height."""
    decades = -math.log10(floor)
    return 10 ** (0.1 * decades)


def exit_caption(rows, series) -> str:
    pairs = dict.fromkeys((r["ci_method"], r["confidence"]) for r in rows)
    parts = []
    for method, conf in pairs:
        try:
            level = f"{float(conf) * 100:g} %"
        except ValueError:
            level = conf
        parts.append(f"{method} {level}")
    return "bars: " + ", ".join(parts) + " confidence intervals (pointwise)"


def draw_exit_panel(ax, key, idx, ctx, flags) -> None:
    table, logx, xs_all, floor = ctx["table"], ctx["logx"], ctx["xs_all"], ctx["floor"]
    top = exit_top(floor)
    ax.axhline(1.0, color="0.5", lw=0.6, zorder=1)
    for lk in ctx["line_keys"]:
        col = ctx["colors"][lk]
        for s in ctx["series_all"]:
            pts = series_points(idx, ctx, lk, s)
            if not pts:
                continue
            off = ctx["offsets"][(key, lk, s)]
            xv = shifted(np.array([xs_all[i] for i in pts]), off, logx)
            vals = np.array([exit_values(table, i) for i in pts])
            p, lo, hi = vals[:, 0], vals[:, 1], vals[:, 2]
            marker, ls = SERIES_MARKER.get(s, "^"), SERIES_STYLE.get(s, "-")
            resolved = p > 0
            shown = np.where(resolved, p, floor)
            # Joined only between measured values: a line up from the 0 row would invent values.
            ax.plot(xv, np.where(resolved, p, np.nan), ls, color=col, lw=1.2, alpha=0.7,
                    zorder=2)
            grow = ctx["grow"][(key, lk)]
            ax.plot(xv[resolved], p[resolved], marker, color=col, ms=4.5 + grow, ls="", zorder=3,
                    gid="exit-p")
            if (~resolved).any():
                ax.plot(xv[~resolved], np.full((~resolved).sum(), floor), marker, color=col,
                        mfc="white", mew=1.3, ms=5.5 + grow, ls="", clip_on=False, zorder=4,
                        gid="exit-unresolved")
            # Interval bars: from the lower end (the floor when it is 0) to the upper end.
            bar_lo = np.where(lo > 0, lo, floor)
            bar_hi = np.where(np.isnan(hi), shown, hi)
            ax.vlines(xv, bar_lo, bar_hi, color=col, lw=1.1, zorder=2)
            zero = resolved & (lo <= 0)
            if zero.any():
                ax.plot(xv[zero], np.full(zero.sum(), floor), "v", color=col, ms=4,
                        clip_on=False, zorder=4, gid="exit-lo-zero")
            bad = [k for k, i in enumerate(pts)
                   if table.rows[i].get("bound_status", "").startswith("violated")]
            if bad:
                ax.plot(xv[bad], shown[bad], "x", color="black", ms=9, mew=2, gid="violated")
        pts = line_points(idx, ctx, lk)
        if not pts:
            continue
        xv = np.array([xs_all[i] for i in pts])
        d = np.array([table.number(i, "delta") for i in pts])
        present = ~np.isnan(d)
        if not present.any():
            continue
        vac = present & ~(d < 1)
        ends = draw_bound(ax, xv, d, vac, col, ":", 2.2, logx, True, 1.0, gid="delta")
        mark_bound_ends(ax, ends, col, gid="delta-end")
        row_y = 10 ** (0.5 * math.log10(top))
        if vac.any():
            mark_vacuous(ax, xv, vac, col, logx, gid=f"vacuous-delta-{key[0]}-{key[1]}",
                         band=(1.0, top), marker_y=row_y, marker="^")
        if (~present).any():
            mark_not_applicable(ax, xv, ~present, [table.rows[i] for i in pts], col, logx,
                                row_y, gid="delta-not-applicable-reason")
    if all(table.rows[i].get("delta", "") == "" for i in idx):
        note_no_bound(ax, table, idx)


def mark_vacuous(ax, xv, vac, color, logx, gid, band=(-0.05, 0.0), marker_y=-0.025,
                 marker="v"):
    """A hatched band (below 0 for 1 − δ, above 1 for δ) over each stretch of points whose bound
    is vacuous, reaching halfway to the neighbouring points (in the axis' scale), and a marker
    at each such point."""
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
        ax.fill_between([lo, hi], band[0], band[1], facecolor="none", edgecolor=color,
                        hatch="////", linewidth=0, gid=gid)
        j += 1
    ax.plot(xv[vac], np.full(vac.sum(), marker_y), marker, color=color, ms=5,
            mec=VACUOUS_COLOR, gid=gid + "-points")


def note_no_bound(ax, table: Table, idx) -> None:
    """Why a panel has no bound at all, between its title and the plot (not over the data)."""
    text = "no theoretical bound here: " + "; ".join(not_applicable_reason(table, idx).split("\n"))
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    room = max(20, int(width_in * 72 / (0.5 * 0.85 * plt.rcParams["font.size"])))
    note = textwrap.fill(text, room)
    ax.text(0.5, 1.015, note, transform=ax.transAxes, ha="center", va="bottom",
            fontsize="small", color="0.35", gid="bound-not-applicable")
    ax.set_title(ax.get_title(), pad=4 + 1.25 * 0.85 * plt.rcParams["font.size"]
                 * (note.count("\n") + 1))


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


def fixed_value(rows, column):
    vals = [v for v in dict.fromkeys(r.get(column, "") for r in rows) if v != ""]
    return vals[0] if len(vals) == 1 else None


def sweep_title_parts(table: Table, conditions, x: str, line_cols) -> list[str]:
    """What was run: every parameter that has one value in the whole figure (the others are the
    x axis, the lines or the panels), the sample sizes, and the --where filters."""
    rows = table.rows
    shown = {x, *line_cols}
    if "f0" in shown or "theta0" in shown:
        shown |= {"f0", "theta0"}
    parts = []
    problem = fixed_value(rows, "problem")
    if problem:
        extra = []
        for c, fmt in (("data", lambda v: Path(v).name), ("hidden", lambda v: f"hidden {v}"),
                       ("activation", str)):
            v = fixed_value(rows, c) if c in table.header else None
            if v and problem in ("mlp", "least-squares"):
                extra.append(fmt(v))
        parts.append(problem + (f" ({', '.join(extra)})" if extra else ""))
    symbols = [("dim", "d"), ("curvature", "a"), ("theta0", "θ0"), ("f0", "F(θ0)"),
               ("radius", "r"), ("noise_dist", "Z"), ("sigma", "σ"), ("eta", "η"),
               ("batch", "B"), ("steps", "K"), ("eps", "ε"), ("seed", "seed")]
    for c, sym in symbols:
        if c in shown or c not in table.header:
            continue
        v = fixed_value(rows, c)
        if v is None or (c == "curvature" and problem != "quadratic"):
            continue
        if c == "theta0" and (len(v) > 16 or problem not in ("quadratic", "ring")):
            continue
        if c == "noise_dist" and v == "gaussian":
            v = "Gaussian"
        parts.append(f"{sym} = {fmt_value(v)}")
    est = [r.get("estimator", "") or "mc" for r in rows]
    total = "traj_total" if "traj_total" in table.header else "trajectories"
    mc_rows = [r for r, e in zip(rows, est) if e != "ams"]
    if mc_rows:
        n = summarize([r.get(total, "") for r in mc_rows], "N")
        if n and "looks" in table.header and any(r.get("looks") for r in mc_rows):
            n += " (cap, precision target)"
        if n and "ams" in est:
            n += " (mc)"
        if n:
            parts.append(n)
    ams_rows = [r for r, e in zip(rows, est) if e == "ams"]
    if ams_rows:
        reps = summarize([r.get("replicas", "") for r in ams_rows], "")
        paths = summarize([r.get("particles", "") for r in ams_rows], "")
        if reps and paths:
            parts.append(f"ams {reps[3:]} replicas × {paths[3:]} paths")
    parts.append("noise: " + ", ".join(dict.fromkeys(r["noise"] for r in rows)))
    if conditions:
        parts.append("where " + ", ".join(
            f"{LABELS.get(c, (c, c))[1]} = {fmt_value(v)}" for c, v in conditions))
    parts[0] = "lojasim sweep — " + parts[0]
    return parts




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
    style = args.style_resolved
    targets = output_plan(args.out, str(Path(args.csv).with_suffix("")) + "-curves",
                          style["format"])
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
    width = style["width"] or 11.0
    stacked = width < 0.55 * 11 * style["font_size"] / 10  # too narrow for two side by side
    if stacked:
        fig, (ax_s, ax_l) = plt.subplots(2, 1, figsize=(width, 1.45 * width + 0.25 * len(curves)),
                                         layout="constrained")
    else:
        fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(width, width * 4.3 / 11),
                                         layout="constrained")
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
    if stacked:  # below the panels: inside, the long labels would cover the curves
        handles, _ = ax_s.get_legend_handles_labels()
        ncol, _, _ = fit_legend(handles, "", width, style["font_size"])
        fig.legend(handles=handles, loc="outside lower center", ncols=ncol, frameon=False)
    else:
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
    fig.suptitle("\n".join(wrap_parts(title.split(", "), width, style["font_size"])))
    save(fig, targets, style["dpi"])


# ---------------------------------------------------------------- traces


def plot_traces(args) -> None:
    table = read_csv(args.csv)
    table.require(TRACE_REQUIRED, "a `lojasim run --trace N FILE` CSV")
    style = args.style_resolved
    targets = output_plan(args.out, str(Path(args.csv).with_suffix("")) + "-traces",
                          style["format"])
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
    width = style["width"] or 8.0
    narrow = width < 6  # the trajectory legend goes below, and the panels get more height
    fig, (ax_f, ax_d) = plt.subplots(2, 1, figsize=(width, width * (1.45 if narrow else 6.5 / 8)),
                                     sharex=True, layout="constrained")
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
    if len(ids) <= 10 and narrow:
        fig.legend(*ax_f.get_legend_handles_labels(), loc="outside lower center", ncols=5,
                   frameon=False, title="trajectory", columnspacing=1.0, handlelength=1.5)
    elif len(ids) <= 10:  # beside the panel: inside it would hide the paths
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
    fig.suptitle("\n".join(line for part in title.split("\n")
                           for line in wrap_parts(part.split(", "), width, style["font_size"])))
    save(fig, targets, style["dpi"])


# ---------------------------------------------------------------- command line


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    return v


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None


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
        p.add_argument("--format", metavar="FMT[,FMT]",
                       help="comma list of png, svg, pdf (default png; pdf with --style paper)")
        p.add_argument("--dpi", type=positive_int,
                       help="resolution of PNG output in dots per inch (default 150; 300 with "
                            "--style paper)")
        p.add_argument("--style", choices=sorted(STYLES), default="screen",
                       help="screen (default): as wide as the panels need; paper: one journal "
                            "column (3.4 in), 8 pt text, PDF")
        p.add_argument("--width", type=number, metavar="INCHES",
                       help="figure width in inches (panels stack when it is narrow)")
        p.add_argument("--font-size", type=number, metavar="PT",
                       help="base font size in points (default 10; 8 with --style paper)")

    s = sub.add_parser("sweep", help="P(stay), P(converge) or P(exit) and the bounds against a "
                       "swept parameter")
    s.add_argument("csv", nargs="+", help="`lojasim sweep --out` CSV file(s) with the same columns")
    s.add_argument("--x", help=f"the x axis: {', '.join(NUMERIC_X)} (default: the one that varies)")
    s.add_argument("--where", action="append", metavar="COL=VALUE",
                   help="keep only rows with this value (repeatable)")
    s.add_argument("--y", choices=("auto", "stay", "exit"), default="auto",
                   help="stay: P(stay), P(converge) and 1 − δ on a probability axis; exit: "
                        "P(exit) and δ on a log axis (default auto: exit when a row is from "
                        "--estimator ams, else stay)")
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
        args.style_resolved = resolve_style(args)
        with plt.rc_context(style_rc(args.style_resolved)):
            args.run(args)
    except PlotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
