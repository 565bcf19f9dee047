"""The scale-out recipes of docs/sweeps.md: one source, the same lojasim command, a strict check.

scripts/cluster/check-recipes.sh runs the recipes for real on a Slurm cluster (CI does, after
local-slurm.sh start); these tests need neither Slurm nor GNU parallel. They check that the docs
show the scripts exactly as they are, that the Slurm array task and the GNU parallel job for shard
k run lojasim with the same words, and that same_rows.py tells equal sweeps from different ones.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "scripts" / "cluster"
SBATCH = CLUSTER / "sweep-array.sbatch"
PARALLEL = CLUSTER / "sweep-parallel.sh"
SAME_ROWS = CLUSTER / "same_rows.py"
SWEEPS_MD = ROOT / "docs" / "sweeps.md"

# A grid with a vector value: ';' and quotes must reach lojasim unchanged through both recipes.
GRID = "--problem quadratic --dim 2 --theta0 0.1;0.2,0.3;0.4 --trajectories 40 --seed 3"


@pytest.mark.parametrize("script", [SBATCH, PARALLEL], ids=lambda p: p.name)
def test_the_docs_show_each_recipe_script_exactly_as_it_is(script):
    block = "```bash\n" + script.read_text() + "```\n"
    assert block in SWEEPS_MD.read_text(), (
        f"docs/sweeps.md must show {script.relative_to(ROOT)} verbatim in a ```bash block"
    )


def write_executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def stubs(tmp_path):
    """A lojasim that logs its arguments, and a parallel that runs its command once per argument."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    write_executable(
        bin_dir / "lojasim",
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['STUB_LOG'], 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n",
    )
    # Enough of GNU parallel for the recipe: -q, -j N, the command, ':::', the arguments.
    write_executable(
        bin_dir / "parallel",
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        "args = sys.argv[1:]\n"
        "assert args[0] == '-q' and args[1] == '-j', args\n"
        "words, values = args[3:args.index(':::')], args[args.index(':::') + 1:]\n"
        "for v in values:\n"
        "    subprocess.run([w.replace('{}', v) for w in words], check=True)\n",
    )
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STUB_LOG": str(log),
        "GRID": GRID,
    }
    return env, log


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def sweep_words_by_shard(words_list):
    """{shard: the sweep's words without --threads N}, checking each call is a sweep."""
    out = {}
    for words in words_list:
        assert words[0] == "sweep", words
        i = words.index("--threads")
        out[words[words.index("--shard") + 1]] = words[:i] + words[i + 2:]
    return out


def test_slurm_array_task_runs_shard_k_of_the_array_size(stubs, tmp_path):
    env, log = stubs
    slurm = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_CPUS_PER_TASK": "3"}
    subprocess.run(["bash", str(SBATCH)], env={**env, **slurm}, cwd=tmp_path, check=True)
    assert calls(log) == [
        ["sweep", *GRID.split(" "), "--threads", "3", "--quiet", "--shard", "2/4",
         "--out", "shard-2.csv", "--resume"]
    ]


def test_slurm_and_parallel_recipes_run_the_same_lojasim_command_per_shard(stubs, tmp_path):
    env, log = stubs
    slurm_dir, parallel_dir = tmp_path / "slurm", tmp_path / "parallel"
    slurm_dir.mkdir()
    parallel_dir.mkdir()
    for k in range(4):
        slurm = {"SLURM_ARRAY_TASK_ID": str(k), "SLURM_ARRAY_TASK_COUNT": "4",
                 "SLURM_CPUS_PER_TASK": "1"}
        subprocess.run(["bash", str(SBATCH)], env={**env, **slurm}, cwd=slurm_dir, check=True)
    slurm_calls = calls(log)
    log.unlink()
    subprocess.run(["bash", str(PARALLEL)], env={**env, "SHARDS": "4", "JOBS": "2", "THREADS": "1"},
                   cwd=parallel_dir, check=True)
    parallel_calls = calls(log)
    assert parallel_calls[-1] == ["merge", "shard-*.csv", "--out", "sweep.csv"]
    by_slurm = sweep_words_by_shard(slurm_calls)
    by_parallel = sweep_words_by_shard(parallel_calls[:-1])
    assert sorted(by_slurm) == ["0/4", "1/4", "2/4", "3/4"]
    assert by_parallel == by_slurm


def run_same_rows(tmp_path, expected, actual):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(expected)
    b.write_text(actual)
    return subprocess.run([sys.executable, str(SAME_ROWS), str(a), str(b)],
                          capture_output=True, text=True)


HEADER = "config_id,stay_count,elapsed_s,total_s,version\n"


def test_same_rows_ignores_only_the_times(tmp_path):
    done = run_same_rows(tmp_path, HEADER + "ab12,40,0.5,0.6,0.1.0\n",
                         HEADER + "ab12,40,7.25,8.0,0.1.0\n")
    assert done.returncode == 0, done.stderr
    assert "3 columns compared" in done.stdout


@pytest.mark.parametrize(
    "actual, message",
    [
        (HEADER + "ab12,39,0.5,0.6,0.1.0\n", "config_id ab12) differs from"),
        (HEADER, "has 0 rows"),
        ("config_id,stay_count,version\nab12,40,0.1.0\n", "another header"),
    ],
    ids=["a count", "a missing row", "a missing column"],
)
def test_same_rows_fails_naming_what_differs(tmp_path, actual, message):
    done = run_same_rows(tmp_path, HEADER + "ab12,40,0.5,0.6,0.1.0\n", actual)
    assert done.returncode == 1
    assert message in done.stderr
    if "differs" in message:
        assert "stay_count: '40' vs '39'" in done.stderr
