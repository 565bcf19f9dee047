"""θ0 from PyTorch-style files: a safetensors state_dict of an nn.Sequential of Linear layers and
a .npy vector, written here by the Python `safetensors` package (numpy API) and NumPy.

lojasim must read the weights in its parameter order (each layer's out × in weight row-major, then
its bias) and F(θ0) must equal a NumPy forward pass of the same weights to 1e-12 relative.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip("safetensors.numpy")

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release" / "lojasim"


@pytest.fixture(scope="module")
def lojasim():
    if not BIN.exists():
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return str(BIN)


def network(seed=3):
    """A 3 → 5 → 4 → 1 tanh network as an nn.Sequential(Linear, Tanh, Linear, Tanh, Linear)
    state_dict, and 30 rows of data."""
    rng = np.random.default_rng(seed)
    shapes = [(5, 3), (4, 5), (1, 4)]
    state = {}
    for layer, (out, inp) in zip((0, 2, 4), shapes):
        state[f"{layer}.weight"] = rng.normal(size=(out, inp)) / np.sqrt(inp)
        state[f"{layer}.bias"] = rng.normal(size=out) * 0.1
    x = rng.normal(size=(30, 3))
    y = rng.normal(size=30)
    return state, x, y


def loss(state, x, y):
    a = x
    for layer in (0, 2):
        a = np.tanh(a @ state[f"{layer}.weight"].T + state[f"{layer}.bias"])
    f = a @ state["4.weight"].T + state["4.bias"]
    return 0.5 * np.mean((f[:, 0] - y) ** 2)


def theta(state):
    return np.concatenate([state[k].ravel() for k in ("0.weight", "0.bias", "2.weight", "2.bias",
                                                      "4.weight", "4.bias")])


def write_data(tmp_path, x, y):
    path = tmp_path / "d.csv"
    rows = ["x1,x2,x3,y"] + [",".join(repr(float(v)) for v in (*r, t)) for r, t in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")
    return path


def flags(data, start):
    return ["--problem", "mlp", "--data", str(data), "--standardize", "false", "--hidden", "5,4",
            "--theta0-file", str(start)]


def f0(lojasim, data, start):
    out = subprocess.run([lojasim, "bound", *flags(data, start), "--alpha", "1", "--c-l", "1",
                          "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["f0"]


def read_init(lojasim, data, start):
    out = subprocess.run([lojasim, "init", *flags(data, start), "--out", "-"],
                         capture_output=True, text=True, check=True)
    return np.array([float(v) for v in out.stdout.split()])


def test_a_safetensors_state_dict_gives_the_numpy_loss(lojasim, tmp_path):
    state, x, y = network()
    data = write_data(tmp_path, x, y)
    start = tmp_path / "net.safetensors"
    safetensors_numpy.save_file(state, str(start))
    assert np.array_equal(read_init(lojasim, data, start), theta(state))
    expected = loss(state, x, y)
    assert abs(f0(lojasim, data, start) - expected) <= 1e-12 * expected


def test_a_npy_vector_and_float32_tensors(lojasim, tmp_path):
    state, x, y = network(seed=4)
    data = write_data(tmp_path, x, y)
    npy = tmp_path / "theta.npy"
    np.save(npy, theta(state))
    expected = loss(state, x, y)
    assert abs(f0(lojasim, data, npy) - expected) <= 1e-12 * expected
    # float32 weights are widened exactly.
    single = {k: v.astype(np.float32) for k, v in state.items()}
    start = tmp_path / "net32.safetensors"
    safetensors_numpy.save_file(single, str(start))
    widened = {k: v.astype(np.float64) for k, v in single.items()}
    assert np.array_equal(read_init(lojasim, data, start), theta(widened))


def test_a_tensor_of_the_wrong_shape_is_named(lojasim, tmp_path):
    state, x, y = network()
    data = write_data(tmp_path, x, y)
    start = tmp_path / "net.safetensors"
    safetensors_numpy.save_file(state, str(start))
    wrong = [a if a != "5,4" else "6,4" for a in flags(data, start)]
    out = subprocess.run([lojasim, "init", *wrong, "--out", str(tmp_path / "t.txt")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "tensor '0.weight' has shape [5, 3] but layer 1 of this network needs [6, 3]" \
        in out.stderr, out.stderr
    assert "panicked" not in out.stderr
    assert not (tmp_path / "t.txt").exists()
