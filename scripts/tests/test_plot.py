"""Tests of scripts/plot.py on small CSV files written here with lojasim's real column names.

Run: python3 -m pytest scripts/tests   (one test uses target/release/lojasim when it exists)
"""

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "plot.py"
BINARY = ROOT / "target" / "release" / "lojasim"

spec = importlib.util.spec_from_file_location("plot", SCRIPT)
plot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plot)

# The header of `lojasim sweep --out`, as lojasim 0.1.0 writes it.
SWEEP_HEADER = (
    "problem,dim,noise,noise_dist,sigma,schedule,eta,gamma,n0,q,radius,f0,steps,eps,trajectories,"
    "seed,stay_count,stay_p,stay_lo,stay_hi,converge_count,converge_p,converge_lo,converge_hi,"
    "ci_method,confidence,alpha,c_l,rho,delta,stay_bound,converge_bound,bound_status,chatterjee,"
    "elapsed_s,version,constants_source,theta0,curvature,exit_count,mean_exit_step,"
    "final_loss_mean,config_id,traj_start,traj_end,traj_total,looks,exit_step_sum,final_loss_sum"
).split(",")
CURVES_HEADER = ["config_id", "traj_start", "traj_end", "k", "stay_count", "loss_mean", "loss_se",
                 "loss_bound"]


def sweep_row(**cells):
    """One sweep row: ml noise, constant step, 1000 trajectories, Wilson 95 %, bound applies."""
    row = dict.fromkeys(SWEEP_HEADER, "")
    row.update(problem="ring", dim="10", noise="ml", noise_dist="gaussian", sigma="1",
               schedule="constant", eta="0.05", radius="0.3", f0="0.0004", steps="1000",
               eps="1e-6", trajectories="1000", seed="0", stay_count="990", stay_p="0.99",
               stay_lo="0.98", stay_hi="0.995", converge_count="980", converge_p="0.98",
               converge_lo="0.97", converge_hi="0.99", ci_method="wilson", confidence="0.95",
               alpha="2.07", c_l="4.2", rho="0.95", delta="0.4", stay_bound="0.6",
               converge_bound="0.6", bound_status="consistent", chatterjee="true",
               elapsed_s="0.1", version="0.1.0", constants_source="exact", theta0="0.3225",
               config_id="00000000000000a0", traj_start="0", traj_end="1000",
               traj_total="1000")
    for k, v in cells.items():
        assert k in row, k
        row[k] = str(v)
    return row


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return str(path)


def eta_sweep(path, noise="ml", bounds=(0.7, 0.5, 0.2, -1.5), schedule="constant"):
    """An η sweep; a bound of None is an empty cell (not applicable)."""
    rows = []
    for j, (eta, b) in enumerate(zip((0.01, 0.02, 0.05, 0.1), bounds)):
        cell = "" if b is None else b
        rows.append(sweep_row(noise=noise, schedule=schedule, eta=eta, stay_bound=cell,
                              converge_bound=cell, config_id=f"{noise[:2]}{j:014x}",
                              bound_status="not-applicable" if b is None else
                              ("vacuous" if b <= 0 else "consistent")))
    return write_csv(path, SWEEP_HEADER, rows)


def run(args, capsys):
    code = plot.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_figure(path, magic):
    p = Path(path)
    assert p.is_file(), f"{p} was not written"
    data = p.read_bytes()
    assert len(data) > 1000, f"{p} is suspiciously small ({len(data)} bytes)"
    assert data.startswith(magic)


def leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


# ------------------------------------------------------------------ sweep


def test_sweep_writes_png_and_svg_and_marks_only_vacuous_bounds(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv", "ml", bounds=(0.7, 0.5, 0.2, -1.5))
    b = eta_sweep(tmp_path / "bd.csv", "bounded", bounds=(None,) * 4)
    code, out, err = run(["sweep", a, b, "--out", tmp_path / "fig", "--format", "png,svg"], capsys)
    assert code == 0, err
    assert_figure(tmp_path / "fig.png", b"\x89PNG")
    assert_figure(tmp_path / "fig.svg", b"<?xml")
    svg = (tmp_path / "fig.svg").read_text()
    assert 'id="vacuous-stay-ml-constant"' in svg
    assert 'id="vacuous-converge-ml-constant"' in svg
    assert "vacuous-stay-bounded" not in svg  # empty cells: nothing drawn, nothing marked
    assert "vacuous: bound ≤ 0" in svg  # the legend says what the hatching means
    assert 'id="bound-not-applicable"' in svg
    assert "wilson 95 %" in svg  # the interval method and level
    assert "machine-learning noise" in svg and "bounded noise" in svg  # one panel each
    assert leftovers(tmp_path) == []


def test_figures_get_ordinary_file_permissions(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 0, err
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "fig.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_sweep_without_vacuous_bounds_draws_no_vacuous_marking(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv", bounds=(0.7, 0.5, 0.2, 0.1))
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert "vacuous" not in svg


def test_a_bound_of_exactly_zero_is_vacuous(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv", bounds=(0.7, 0.5, 0.2, 0.0))
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    assert 'id="vacuous-stay-ml-constant"' in (tmp_path / "fig.svg").read_text()


def test_the_title_says_what_was_run(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    for text in ("ring", "d = 10", "N = 1000", "K = 1000", "noise: ml", "step size η"):
        assert text in svg, text


def test_malformed_csv_is_an_error_without_output(tmp_path, capsys):
    path = Path(eta_sweep(tmp_path / "ml.csv"))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 5)[0]  # a row with fields missing, not at the end
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(["sweep", path, "--out", tmp_path / "fig", "--format", "png,svg"], capsys)
    assert code == 2
    assert err.startswith("error: ") and "line 3" in err and "malformed" in err
    assert not (tmp_path / "fig.png").exists() and not (tmp_path / "fig.svg").exists()
    assert leftovers(tmp_path) == []


def test_a_failed_plot_leaves_an_existing_figure_untouched(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("stay_p,stay_lo\n0.5,0.4,0.3\n0.1,0.2\n")
    (tmp_path / "fig.png").write_bytes(b"old figure")
    code, _, err = run(["sweep", bad, "--out", tmp_path / "fig"], capsys)
    assert code == 2, err
    assert (tmp_path / "fig.png").read_bytes() == b"old figure"


def test_a_non_numeric_cell_names_its_line_and_column(tmp_path, capsys):
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER,
                  [sweep_row(eta=0.01), sweep_row(eta=0.02, stay_lo="abc")])
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 2
    assert "line 3" in err and "stay_lo" in err and "'abc'" in err
    assert not (tmp_path / "fig.png").exists()


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(["sweep", tmp_path / "nope.csv", "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "no such file" in err


def test_missing_columns_are_named(tmp_path, capsys):
    a = write_csv(tmp_path / "s.csv", ["eta", "stay_p"], [{"eta": "0.1", "stay_p": "0.5"}])
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "missing columns" in err and "stay_lo" in err


def test_header_only_is_nothing_to_plot(tmp_path, capsys):
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, [])
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "nothing to plot" in err


def test_empty_file_is_an_error(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("")
    code, _, err = run(["sweep", tmp_path / "s.csv", "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "empty" in err


def test_unknown_x_is_refused(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv")
    code, _, err = run(["sweep", a, "--x", "colour", "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "--x colour" in err and "eta" in err
    assert not (tmp_path / "fig.png").exists()


def test_two_varying_parameters_need_x_then_become_lines(tmp_path, capsys):
    rows = [sweep_row(eta=e, radius=r) for r in (0.2, 0.3) for e in (0.01, 0.02, 0.05)]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "--x eta" in err and "--where radius=" in err
    code, _, err = run(["sweep", a, "--x", "eta", "--out", tmp_path / "fig", "--format", "svg"],
                       capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert "r = 0.2" in svg and "r = 0.3" in svg


def test_where_filters_rows_and_reports_no_match(tmp_path, capsys):
    rows = [sweep_row(eta=e, radius=r) for r in (0.2, 0.3) for e in (0.01, 0.02, 0.05)]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--where", "radius=0.3", "--out", tmp_path / "fig",
                        "--format", "svg"], capsys)
    assert code == 0, err
    assert "r = 0.2" not in (tmp_path / "fig.svg").read_text()
    code, _, err = run(["sweep", a, "--where", "radius=0.7", "--out", tmp_path / "g"], capsys)
    assert code == 2 and "nothing to plot" in err
    code, _, err = run(["sweep", a, "--where", "colour=1", "--out", tmp_path / "g"], capsys)
    assert code == 2 and "no column colour" in err


def test_unmerged_shard_rows_are_refused(tmp_path, capsys):
    rows = [sweep_row(eta=0.01, traj_end=500), sweep_row(eta=0.01, traj_start=500),
            sweep_row(eta=0.02)]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "lojasim merge" in err


def test_an_incomplete_last_line_is_skipped_with_a_warning(tmp_path, capsys):
    path = Path(eta_sweep(tmp_path / "ml.csv"))
    path.write_text(path.read_text() + "ring,10,ml,gauss")  # an interrupted append
    code, _, err = run(["sweep", path, "--out", tmp_path / "fig"], capsys)
    assert code == 0 and "incomplete last line" in err


def test_x_axis_is_logarithmic_when_values_span_more_than_a_decade():
    assert plot.log_spans_decade([0.01, 0.02, 0.5])
    assert not plot.log_spans_decade([0.1, 0.5, 1.0])
    assert not plot.log_spans_decade([0.0, 1.0, 100.0])  # a zero cannot go on a log axis


def test_robbins_monro_and_minibatch_panels_are_separate(tmp_path, capsys):
    rows = [sweep_row(sigma=s, config_id=f"a{j}") for j, s in enumerate((0.1, 1, 10))]
    rows += [sweep_row(sigma=s, noise="bounded", schedule="robbins-monro", eta="", gamma=0.05,
                       n0=1, q=0.75, stay_bound="", converge_bound="", config_id=f"b{j}")
             for j, s in enumerate((0.1, 1, 10))]
    rows += [sweep_row(sigma=s, noise="minibatch", config_id=f"c{j}")
             for j, s in enumerate((0.1, 1, 10))]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert "Robbins–Monro steps (γ = 0.05, n0 = 1, q = 0.75)" in svg
    assert "minibatch noise" in svg
    assert "noise level σ" in svg  # auto-detected: sigma is the only parameter that varies



def test_minibatch_lines_are_split_by_batch_not_by_the_estimated_sigma(tmp_path, capsys):
    header = SWEEP_HEADER + ["batch"]
    rows = []
    for j, (b, f0) in enumerate((b, f0) for b in (1, 4) for f0 in (1e-1, 1e-3, 1e-5)):
        row = sweep_row(noise="minibatch", sigma=30.0 / b + j * 0.01, f0=f0, theta0=f"{j};1",
                        config_id=f"m{j}")  # σ̂ differs at every point
        row["batch"] = str(b)
        rows.append(row)
    a = write_csv(tmp_path / "s.csv", header, rows)
    code, _, err = run(["sweep", a, "--x", "f0", "--out", tmp_path / "fig", "--format", "svg"],
                       capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert "B = 1" in svg and "B = 4" in svg and "σ = " not in svg


def test_dpi_sets_the_png_resolution(tmp_path, capsys):
    a = eta_sweep(tmp_path / "s.csv")
    sizes = []
    for dpi in (60, 150):
        code, _, err = run(["sweep", a, "--out", tmp_path / f"fig{dpi}", "--dpi", str(dpi)],
                           capsys)
        assert code == 0, err
        sizes.append((tmp_path / f"fig{dpi}.png").stat().st_size)
    assert 0 < sizes[0] < sizes[1]
    with pytest.raises(SystemExit) as e:  # argparse refuses it before any work
        run(["sweep", a, "--out", tmp_path / "bad", "--dpi", "0"], capsys)
    assert e.value.code == 2 and not (tmp_path / "bad.png").exists()


# ------------------------------------------------------------------ exit probabilities

EXIT_HEADER = SWEEP_HEADER + ["estimator", "exit_p", "exit_lo", "exit_hi", "delta_over_exit",
                              "particles", "replicas", "extinctions"]


def exit_row(sigma, estimator, p, lo, hi, delta, **cells):
    """A σ-sweep row of `lojasim sweep` with P(exit) = p [lo, hi] and the theorem's δ
    (None: empty, the bound does not apply)."""
    row = dict.fromkeys(EXIT_HEADER, "")
    row.update(sweep_row(sigma=sigma, radius=0.6, f0=0.045, theta0=0.3, problem="quadratic",
                         dim=1, steps=200,
                         config_id=f"{estimator}{sigma}",
                         delta="" if delta is None else delta,
                         bound_status="not-applicable" if delta is None else
                         ("vacuous" if delta >= 1 else "consistent"),
                         rho="1.015" if delta is None else "0.95"))
    row.update(estimator=estimator, exit_p=p, exit_lo=lo, exit_hi=hi)
    if estimator == "ams":
        row.update(ci_method="ams-t", particles=100, replicas=40, traj_total=40, trajectories="",
                   stay_count="", converge_p="", converge_lo="", converge_hi="")
    row.update({k: str(v) for k, v in cells.items()})
    return {k: str(v) for k, v in row.items()}


def exit_sweep(path, estimators=("ams", "mc")):
    """Every case at once: unresolved (0, no upper end for ams), an interval down to 0, δ
    informative, vacuous (≥ 1) and not applicable (empty)."""
    cases = [  # sigma, ams (p, lo, hi), mc (p, lo, hi), delta
        (2, (0, 0, ""), (0, 0, 1.9e-4), 0.73),
        (4, (0, 0, ""), (0, 0, 1.9e-4), 0.91),
        (8, (7.3e-6, 0, 2e-5), (0, 0, 1.9e-4), 1.25),
        (16, (8.9e-4, 5e-4, 1.3e-3), (7.5e-4, 4.5e-4, 1.2e-3), 1.9),
        (90, (0.1, 0.09, 0.11), (0.096, 0.092, 0.1), None),
    ]
    rows = []
    for sigma, ams, mc, delta in cases:
        for est, (p, lo, hi) in (("ams", ams), ("mc", mc)):
            if est in estimators:
                rows.append(exit_row(sigma, est, p, lo, hi, delta))
    return write_csv(path, EXIT_HEADER, rows)


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures plot.py saves, to look at their axes."""
    seen = []
    original = plot.save

    def keep(fig, targets, dpi=150):
        seen.append(fig)
        original(fig, targets, dpi)

    monkeypatch.setattr(plot, "save", keep)
    return seen


def test_splitting_rows_get_the_exit_figure_on_a_log_axis(tmp_path, capsys, figures):
    a = exit_sweep(tmp_path / "s.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "png,svg"], capsys)
    assert code == 0, err
    assert_figure(tmp_path / "fig.png", b"\x89PNG")
    ax = figures[0].axes[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert ax.get_ylim()[1] > 1  # room above 1 for the vacuous band
    svg = (tmp_path / "fig.svg").read_text()
    assert "P(exit), crude Monte Carlo" in svg and "P(exit), splitting (ams)" in svg
    assert "δ: theorem says P(exit) ≤ δ" in svg
    assert "ams-t 95 %" in svg and "wilson 95 %" in svg


def test_crude_monte_carlo_files_keep_the_probability_axis_unless_asked(tmp_path, capsys,
                                                                       figures):
    a = exit_sweep(tmp_path / "s.csv", estimators=("mc",))
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig"], capsys)
    assert code == 0, err
    assert figures[-1].axes[0].get_yscale() == "linear"
    code, _, err = run(["sweep", a, "--y", "exit", "--out", tmp_path / "fig"], capsys)
    assert code == 0, err
    assert figures[-1].axes[0].get_yscale() == "log"


def test_unresolved_exits_sit_on_the_zero_row_and_are_named(tmp_path, capsys, figures):
    a = exit_sweep(tmp_path / "s.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert 'id="exit-unresolved' in svg  # P(exit) = 0: drawn, not dropped
    assert "P(exit) = 0: not resolved" in svg
    assert 'id="exit-lo-zero' in svg and "interval reaches 0" in svg  # σ = 8, ams
    assert 'id="axis-break' in svg
    ax = figures[0].axes[0]
    floor = ax.yaxis.get_major_locator()()[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "0" and floor < 7.3e-6 / 10  # a decade below the smallest value
    # the hollow markers of P(exit) = 0 are on that row
    rows = [line for line in ax.get_lines() if line.get_gid() == "exit-unresolved"]
    assert rows and all(y == floor for line in rows for y in line.get_ydata())
    assert sum(len(line.get_xdata()) for line in rows) == 5  # ams σ = 2, 4; mc σ = 2, 4, 8


def test_a_vacuous_or_missing_delta_ends_the_line_with_its_reason(tmp_path, capsys):
    a = exit_sweep(tmp_path / "s.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert 'id="vacuous-delta-ml-constant"' in svg and "δ ≥ 1: vacuous" in svg
    assert 'id="delta-not-applicable-reason' in svg and "ρ ≥ 1" in svg
    # an informative δ next to an empty cell ends with a bar
    rows = [exit_row(s, "mc", 0.01, 0.005, 0.02, d) for s, d in ((2, 0.5), (4, 0.8), (8, None))]
    b = write_csv(tmp_path / "t.csv", EXIT_HEADER, rows)
    code, _, err = run(["sweep", b, "--y", "exit", "--out", tmp_path / "g", "--format", "svg"],
                       capsys)
    assert code == 0, err
    svg = (tmp_path / "g.svg").read_text()
    assert 'id="delta-end' in svg and "vacuous" not in svg


def test_a_panel_without_delta_says_why(tmp_path, capsys):
    rows = [exit_row(s, "ams", p, p / 2, p * 2, None, noise="bounded")
            for s, p in ((0.02, 1e-16), (0.04, 1e-7), (0.06, 1e-4))]
    a = write_csv(tmp_path / "s.csv", EXIT_HEADER, rows)
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert 'id="bound-not-applicable"' in svg and "bounded noise does not" in svg


def test_the_stay_bound_ends_where_it_stops_applying_with_the_reason(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv", bounds=(0.7, 0.5, None, None))
    rows = list(csv.DictReader(open(a)))
    for r in rows[2:]:
        r["rho"] = "1.2"
    a = write_csv(tmp_path / "ml.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert 'id="bound-end' in svg and 'id="bound-not-applicable-reason' in svg
    assert "ρ ≥ 1" in svg


def test_coinciding_lines_are_all_visible(tmp_path, capsys, figures):
    rows = [sweep_row(eta=e, sigma=s, stay_p=1, stay_lo=0.9996, stay_hi=1, converge_p=1,
                      converge_lo=0.9996, converge_hi=1, config_id=f"{s}{e}")
            for s in (1, 10, 80) for e in (0.01, 0.02, 0.05, 0.1)]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--x", "eta", "--out", tmp_path / "fig"], capsys)
    assert code == 0, err
    lines = [l for l in figures[0].axes[0].get_lines() if l.get_marker() == "o"]
    assert len(lines) == 3
    xs = [tuple(l.get_xdata()) for l in lines]
    assert len(set(xs)) == 3  # side by side, not on top of each other
    sizes = [l.get_markersize() for l in lines]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]  # nested rings


def test_width_and_font_size_are_honoured(tmp_path, capsys, figures):
    a = exit_sweep(tmp_path / "s.csv")
    code, _, err = run(["sweep", a, "--width", "3.4", "--font-size", "7", "--dpi", "100",
                        "--out", tmp_path / "fig", "--format", "png,svg"], capsys)
    assert code == 0, err
    png = (tmp_path / "fig.png").read_bytes()
    assert int.from_bytes(png[16:20], "big") == 340  # 3.4 in at 100 dpi, exactly
    assert 'width="244.8pt"' in (tmp_path / "fig.svg").read_text()
    ax = figures[0].axes[0]
    assert ax.xaxis.label.get_fontsize() == 7 and ax.title.get_fontsize() == 7
    assert plot.plt.rcParams["font.size"] == 10  # the next figure starts from the defaults


def test_paper_style_is_one_column_of_vector_output(tmp_path, capsys, figures):
    rows = [sweep_row(eta=e, noise=n, config_id=f"{n}{e}") for n in ("ml", "bounded")
            for e in (0.01, 0.02, 0.05)]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, out, err = run(["sweep", a, "--style", "paper", "--out", tmp_path / "fig"], capsys)
    assert code == 0, err
    assert out.strip().endswith("fig.pdf")
    assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF")
    fig = figures[0]
    assert fig.get_figwidth() == 3.4
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes[0].get_position().y0 > axes[1].get_position().y0  # stacked, not side by side
    assert axes[0].xaxis.label.get_fontsize() == 8


def test_the_title_names_every_fixed_parameter_and_the_filter(tmp_path, capsys):
    rows = [sweep_row(eta=e, radius=r, sigma=2) for r in (0.2, 0.3) for e in (0.01, 0.02)]
    a = write_csv(tmp_path / "s.csv", SWEEP_HEADER, rows)
    code, _, err = run(["sweep", a, "--where", "radius=0.3", "--out", tmp_path / "fig",
                        "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    for text in ("r = 0.3", "F(θ0) = 4e-4", "σ = 2", "K = 1000", "ε = 1e-6", "where r = 0.3",
                 "N = 1000"):
        assert text in svg, text
    a = exit_sweep(tmp_path / "e.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "g", "--format", "svg"], capsys)
    svg = (tmp_path / "g.svg").read_text()
    assert "ams 40 replicas × 100 paths" in svg and "N = 1000 (mc)" in svg


def test_figures_are_byte_stable(tmp_path, capsys):
    a = exit_sweep(tmp_path / "s.csv")
    for name in ("one", "two"):
        code, _, err = run(["sweep", a, "--out", tmp_path / name, "--format", "svg,pdf"], capsys)
        assert code == 0, err
    for ext in ("svg", "pdf"):
        assert (tmp_path / f"one.{ext}").read_bytes() == (tmp_path / f"two.{ext}").read_bytes()


@pytest.mark.parametrize("cells,flags,message", [
    ({"exit_p": "1.5"}, [], "not a probability"),
    ({"exit_lo": "-0.1"}, [], "not a probability"),
    ({"exit_p": "abc"}, [], "'abc' is not a number"),
    ({}, ["--width", "0"], "--width must be between"),
    ({}, ["--font-size", "100"], "--font-size must be between"),
])
def test_bad_exit_input_is_an_error_without_a_figure(tmp_path, capsys, cells, flags, message):
    rows = [exit_row(s, "ams", 1e-5, 5e-6, 2e-5, 0.5) for s in (1, 2)]
    rows[1].update(cells)
    a = write_csv(tmp_path / "s.csv", EXIT_HEADER, rows)
    code, _, err = run(["sweep", a, *flags, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "fig.png").exists() and leftovers(tmp_path) == []


def test_exit_figure_of_a_file_without_exit_columns_names_them(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv")
    code, _, err = run(["sweep", a, "--y", "exit", "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "exit_p" in err and "--y stay" in err
    assert not (tmp_path / "fig.png").exists()


# ------------------------------------------------------------------ curves


def curves_file(path, ids=("00000000000000a0", "00000000000000a1"), n=1000):
    rows = []
    for j, cid in enumerate(ids):
        for k in (0, 1, 2, 5, 10, 50, 100, 200):
            rows.append(dict(config_id=cid, traj_start=0, traj_end=n, k=k,
                             stay_count=n - (k // 10) * (j + 1), loss_mean=4e-4 * 0.9 ** k,
                             loss_se=1e-6 * 0.9 ** k,
                             loss_bound="" if j else 4e-4 * 0.95 ** k))
    return write_csv(path, CURVES_HEADER, rows)


def test_curves_join_the_sweep_to_label_by_parameters(tmp_path, capsys):
    c = curves_file(tmp_path / "c.csv")
    s = write_csv(tmp_path / "s.csv", SWEEP_HEADER,
                  [sweep_row(eta=0.01, config_id="00000000000000a0"),
                   sweep_row(eta=0.02, config_id="00000000000000a1")])
    code, _, err = run(["curves", c, "--sweep", s, "--out", tmp_path / "fig",
                        "--format", "png,svg"], capsys)
    assert code == 0, err
    assert_figure(tmp_path / "fig.png", b"\x89PNG")
    svg = (tmp_path / "fig.svg").read_text()
    assert "η = 0.01 (N = 1000)" in svg and "η = 0.02" in svg
    assert "bound ρ^k·F(θ0)" in svg and "Wilson 95 %" in svg


def test_curves_without_a_sweep_are_labelled_by_config_id(tmp_path, capsys):
    c = curves_file(tmp_path / "c.csv")
    code, _, err = run(["curves", c, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    assert "config 00000000" in (tmp_path / "fig.svg").read_text()


def test_curves_refuse_a_stay_count_above_n(tmp_path, capsys):
    c = write_csv(tmp_path / "c.csv", CURVES_HEADER,
                  [dict(config_id="a", traj_start=0, traj_end=10, k=0, stay_count=11,
                        loss_mean=1, loss_se=0, loss_bound=1)])
    code, _, err = run(["curves", c, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "stay_count" in err
    assert not (tmp_path / "fig.png").exists()


def test_curves_given_a_sweep_csv_name_the_missing_columns(tmp_path, capsys):
    s = eta_sweep(tmp_path / "s.csv")
    code, _, err = run(["curves", s, "--out", tmp_path / "fig"], capsys)
    assert code == 2 and "loss_mean" in err and "--curves-out" in err


def test_wilson_bands_match_known_values():
    import numpy as np

    lo, hi = plot.wilson(np.array([0, 5, 10]), 10, 0.95)
    assert lo[0] == 0.0 and hi[2] == 1.0  # x = 0 and x = n exactly
    assert abs(lo[1] - 0.2366) < 1e-4 and abs(hi[1] - 0.7634) < 1e-4
    assert abs(hi[0] - 0.2775) < 1e-4


# ------------------------------------------------------------------ traces


def trace_file(path, exit_at=None):
    """Three fake sample paths; trajectory 1 leaves the ball (r = 0.3) at step exit_at."""
    rows = []
    for t in range(3):
        for k in range(0, 60):
            d = 0.004 * k * (1 + t) / 3
            if t == 1 and exit_at is not None and k >= exit_at:
                d = 0.31 + 0.01 * (k - exit_at)
            rows.append(dict(trajectory=t, k=k, loss=4e-4 * (0.9 - 0.03 * t) ** k, distance=d))
            if t == 1 and exit_at is not None and k == exit_at:
                break  # a trajectory ends at its exit
    return write_csv(path, ["trajectory", "k", "loss", "distance"], rows)


def test_traces_mark_the_radius_and_the_exits(tmp_path, capsys):
    t = trace_file(tmp_path / "t.csv", exit_at=40)
    code, _, err = run(["traces", t, "--radius", "0.3", "--out", tmp_path / "fig",
                        "--format", "png,svg"], capsys)
    assert code == 0, err
    assert_figure(tmp_path / "fig.png", b"\x89PNG")
    svg = (tmp_path / "fig.svg").read_text()
    assert 'id="radius"' in svg and "ball radius r = 0.3" in svg
    assert 'id="exit"' in svg and "(1 of 3)" in svg


def test_traces_that_stay_have_no_exit_marker(tmp_path, capsys):
    t = trace_file(tmp_path / "t.csv")
    code, _, err = run(["traces", t, "--radius", "0.3", "--out", tmp_path / "fig",
                        "--format", "svg"], capsys)
    assert code == 0, err
    assert 'id="exit"' not in (tmp_path / "fig.svg").read_text()


def test_traces_take_the_radius_and_title_from_the_run_csv(tmp_path, capsys):
    t = trace_file(tmp_path / "t.csv", exit_at=40)
    r = write_csv(tmp_path / "run.csv", SWEEP_HEADER[:42], [sweep_row(radius=0.25)])
    code, _, err = run(["traces", t, "--run-csv", r, "--out", tmp_path / "fig",
                        "--format", "svg"], capsys)
    assert code == 0, err
    svg = (tmp_path / "fig.svg").read_text()
    assert "ball radius r = 0.25" in svg and "ml noise" in svg and "K = 1000" in svg


def test_traces_need_a_radius(tmp_path, capsys):
    t = trace_file(tmp_path / "t.csv")
    with pytest.raises(SystemExit) as e:
        plot.main(["traces", t, "--out", str(tmp_path / "fig")])
    assert e.value.code == 2
    assert "--radius" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        plot.main(["traces", t, "--radius", "-1", "--out", str(tmp_path / "fig")])
    assert "must be > 0" in capsys.readouterr().err


# ------------------------------------------------------------------ the real process


def test_the_script_exits_non_zero_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text('noise,"stay_p\n')
    r = subprocess.run([sys.executable, str(SCRIPT), "sweep", str(bad), "--out",
                        str(tmp_path / "fig")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_output_directory_must_exist(tmp_path, capsys):
    a = eta_sweep(tmp_path / "ml.csv")
    code, _, err = run(["sweep", a, "--out", tmp_path / "no" / "fig"], capsys)
    assert code == 2 and "does not exist" in err


@pytest.mark.skipif(not BINARY.exists(), reason="target/release/lojasim not built")
def test_real_lojasim_output_plots(tmp_path, capsys):
    s, c = tmp_path / "s.csv", tmp_path / "c.csv"
    subprocess.run([str(BINARY), "sweep", "--eta", "log:0.01:0.3:4", "--noise", "ml,bounded",
                    "--trajectories", "200", "--steps", "200", "--quiet", "--out", str(s),
                    "--curves-out", str(c)], check=True, capture_output=True)
    code, _, err = run(["sweep", s, "--out", tmp_path / "sweep", "--format", "png,svg"], capsys)
    assert code == 0, err
    assert_figure(tmp_path / "sweep.png", b"\x89PNG")
    svg = (tmp_path / "sweep.svg").read_text()
    # The file itself says where the bound is vacuous; the figure must agree.
    vacuous = [r for r in csv.DictReader(open(s)) if r["stay_bound"] and
               float(r["stay_bound"]) <= 0]
    assert ('id="vacuous-stay-ml-constant"' in svg) == bool(vacuous)
    code, _, err = run(["curves", c, "--sweep", s, "--where", "eta=0.01", "--out",
                        tmp_path / "curves"], capsys)
    assert code == 0, err
    assert_figure(tmp_path / "curves.png", b"\x89PNG")


@pytest.mark.skipif(not BINARY.exists(), reason="target/release/lojasim not built")
def test_real_splitting_output_plots_on_the_exit_axis(tmp_path, capsys, figures):
    common = ["sweep", "--problem", "quadratic", "--dim", "1", "--theta0", "0.3", "--radius", "0.6",
              "--noise", "ml", "--eta", "0.05", "--steps", "200", "--sigma", "2,16,90", "--quiet"]
    s, m = tmp_path / "ams.csv", tmp_path / "mc.csv"
    subprocess.run([str(BINARY), *common, "--estimator", "ams", "--particles", "50",
                    "--replicas", "10", "--out", str(s)], check=True, capture_output=True)
    subprocess.run([str(BINARY), *common, "--trajectories", "2000", "--out", str(m)],
                   check=True, capture_output=True)
    code, _, err = run(["sweep", s, m, "--out", tmp_path / "fig", "--format", "svg"], capsys)
    assert code == 0, err
    assert figures[0].axes[0].get_yscale() == "log"
    svg = (tmp_path / "fig.svg").read_text()
    assert "splitting (ams)" in svg and "crude Monte Carlo" in svg
