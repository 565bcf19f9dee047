"""Tests of the flop count scripts/bench/compare.py divides by the measured FMA peak (issue 5's
"fraction of peak" for W2). Expected values are counted by hand here, layer by layer.

Run: python3 -m pytest scripts/tests
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "scripts" / "bench"
sys.path.insert(0, str(BENCH))  # compare.py imports bench_common from its own directory
spec = importlib.util.spec_from_file_location("compare", BENCH / "compare.py")
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


def write_data(path, rows, inputs):
    header = ",".join([f"x{i}" for i in range(inputs)] + ["y"])
    lines = [header] + [",".join(["0.5"] * (inputs + 1)) for _ in range(rows)]
    path.write_text("\n".join(lines) + "\n")


def test_w2_flops_match_the_hand_count_in_docs_performance(tmp_path):
    # 8 → 32 → 32 → 1 on 16 rows. Per row: forward 32·8 + 32·32 + 1·32 = 1312 multiply–adds;
    # backward: output-layer gradient 32, layer-2 gradient 32·32, δ¹ = (W²)ᵀδ² 32·32, layer-1
    # gradient 32·8 = 2336. (1312 + 2336) · 2 flops · 16 rows.
    data = tmp_path / "teacher.csv"
    write_data(data, rows=16, inputs=8)
    w = {"problem": "mlp", "noise": "ml", "hidden": [32, 32]}
    assert compare.mlp_step_flops(w, data) == (1312 + 2336) * 2 * 16 == 116_736


def test_one_hidden_layer_has_no_hidden_to_hidden_backpropagation(tmp_path):
    # 3 → 5 → 1 on 7 rows: forward 15 + 5, weight gradients 15 + 5, no δ through a hidden-to-
    # hidden matrix (δ into the inputs is never needed).
    data = tmp_path / "d.csv"
    write_data(data, rows=7, inputs=3)
    w = {"problem": "mlp", "noise": "ml", "hidden": [5]}
    assert compare.mlp_step_flops(w, data) == (20 + 20) * 2 * 7


def test_three_hidden_layers_count_two_backpropagations(tmp_path):
    # 2 → 4 → 6 → 3 → 1 on 5 rows: products 8, 24, 18, 3 (sum 53) forward and again as weight
    # gradients; δ back through the two hidden-to-hidden matrices (4 → 6 and 6 → 3): 24 + 18.
    data = tmp_path / "d.csv"
    write_data(data, rows=5, inputs=2)
    w = {"problem": "mlp", "noise": "ml", "hidden": [4, 6, 3]}
    assert compare.mlp_step_flops(w, data) == (53 + 53 + 24 + 18) * 2 * 5


def test_minibatch_and_analytic_workloads_have_no_count(tmp_path):
    data = tmp_path / "d.csv"
    write_data(data, rows=5, inputs=2)
    assert compare.mlp_step_flops({"problem": "mlp", "noise": "minibatch", "hidden": [4]}, data) is None
    assert compare.mlp_step_flops({"problem": "quadratic", "noise": "ml"}, data) is None


def test_several_outputs_count_the_delta_through_the_output_matrix(tmp_path):
    # 2 → 4 → 3 on the first 6 of 9 rows, the last column one of three class labels (one-hot:
    # three outputs). Products 8 and 12 forward and again as weight gradients; with several
    # outputs δ goes back through the 4 × 3 output matrix as well: 12.
    data = tmp_path / "d.csv"
    lines = ["x0,x1,label"] + [f"0.5,0.25,{i % 3}" for i in range(9)]
    data.write_text("\n".join(lines) + "\n")
    w = {"problem": "mlp", "noise": "ml", "hidden": [4], "one_hot": True, "rows": 6}
    assert compare.mlp_step_flops(w, data) == (20 + 20 + 12) * 2 * 6
