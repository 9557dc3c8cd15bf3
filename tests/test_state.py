"""The network as data: nested containers, user-defined layers, pickling and old files.

Oracles: the same network's outputs before and after a round trip (an identity any bug in
naming, ordering or casting breaks), files written by chainrule 0.1.0 with the outputs that
release computed (``tests/data/release-0.1.0``), and pickle as a second, independent route.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule.io import ModelFileError

RELEASE = Path(__file__).parent / "data" / "release-0.1.0"


def _nested(rng: np.random.Generator) -> cr.Sequential:
    block = cr.Sequential([cr.Dense(6, 6, rng=rng), cr.Tanh(), cr.Dense(6, 6, rng=rng)])
    return cr.Sequential(
        [
            cr.Dense(3, 6, rng=rng),
            cr.ReLU(),
            cr.Residual(block, name="res1"),
            cr.Residual(cr.Sequential([cr.Dense(6, 4, rng=rng), cr.Sigmoid()]), rng=rng),
            cr.Dense(4, 2, rng=rng),
        ]
    )


def test_nested_containers_name_every_parameter(rng: np.random.Generator) -> None:
    net = _nested(rng)
    assert "res1.block.dense1.W" in net.params
    assert "residual2.projection.W" in net.params  # widths 6 -> 4 need a projection
    assert len(net.params) == len(set(net.params))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nested_network_trains_saves_and_loads(
    tmp_path: Path, rng: np.random.Generator, dtype: str
) -> None:
    net = _nested(rng)
    X = rng.standard_normal((64, 3)).astype(dtype)
    y = (X[:, 0] > 0).astype(np.int64)
    history = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.01)).fit(X, y, epochs=20)
    assert history["loss"][-1] < history["loss"][0]
    assert net.dtype == dtype and all(v.dtype == np.dtype(dtype) for v in net.params.values())
    cr.save(net, tmp_path / "nested.safetensors")
    back = cr.load(tmp_path / "nested.safetensors")
    assert back.config() == net.config() and back.dtype == dtype
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_residual_gradient_matches_finite_differences(rng: np.random.Generator) -> None:
    net = _nested(rng)
    X = rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 2))
    report = cr.check_network(net, cr.MSE(), X, y)
    assert report.max_error < 1e-6


def test_pickle_goes_through_the_same_state(rng: np.random.Generator) -> None:
    net = _nested(rng)
    X = rng.standard_normal((7, 3))
    net.forward(X, training=True)  # caches that must not travel
    back = pickle.loads(pickle.dumps(net))
    assert back.layers[0]._x is None
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


class Scale(cr.Layer):
    """A user-defined layer: y = c·x, with a learnable c per feature."""

    has_params = True

    def __init__(self, width: int, name: str | None = None) -> None:
        super().__init__(name)
        self.width = width
        self.params["c"] = np.ones(width)

    def forward(self, x: Any, training: bool = False) -> Any:
        self._x, self._forwarded = x, True
        return x * self.params["c"]

    def backward(self, grad: Any, need_input_grad: bool = True) -> Any:
        self.grads["c"] = (grad * self._x).sum(axis=0)
        return grad * self.params["c"]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "width": self.width}


class Forgetful(Scale):
    """Its config() omits the constructor argument ``width``."""

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


def test_user_defined_layer_registers_itself_and_round_trips(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    net = cr.Sequential([cr.Dense(2, 3, rng=rng), Scale(3), cr.Dense(3, 1, rng=rng)])
    X = rng.standard_normal((20, 2)).astype(np.float32)
    cr.Trainer(net, cr.MSE(), cr.sgd(0.1)).fit(X, X[:, :1], epochs=3)
    assert net.dtype == "float32"
    cr.save(net, tmp_path / "custom.safetensors")
    back = cr.load(tmp_path / "custom.safetensors")
    assert isinstance(back.layers[1], Scale)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_unregistered_and_unsaveable_layers_get_clear_errors(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TypeError, match=r"constructor needs 'width'.*override config\(\)"):
        cr.save(cr.Sequential([Forgetful(2)]), tmp_path / "f.safetensors")
    cr.save(cr.Sequential([Scale(2)]), tmp_path / "s.safetensors")
    monkeypatch.delitem(cr.network.LAYER_TYPES, "Scale")  # as in a process that never imported it
    with pytest.raises(ModelFileError, match=r"'Scale'.*not registered.*import the module"):
        cr.load(tmp_path / "s.safetensors")
    with pytest.raises(NotImplementedError, match=r"no ONNX translation.*onnx\(graph, x\)"):
        cr.export_onnx(cr.Sequential([Scale(2)]), tmp_path / "s.onnx")


# -- files written by chainrule 0.1.0 ------------------------------------------------------------
# Files and outputs written by release 0.1.0 on another machine. The matrix products run on
# whatever BLAS kernel each machine picks (OpenBLAS chooses by CPU, OPENBLAS_CORETYPE and
# thread count), and kernels reorder the sums of a product, so the same weights give outputs
# that differ in the last bits (5.6e-17 absolute, 1.1e-16 relative, seen between two machines).
# RELEASE_RTOL allows 10^4 ulps of float64: a reordered sum, never a wrong weight or layout.
RELEASE_RTOL = 1e-12
RELEASE_ATOL = 1e-15  # for outputs near zero, where a relative tolerance is empty


def _same_as_release(got: np.ndarray, stored: Path) -> None:
    np.testing.assert_allclose(got, np.load(stored), rtol=RELEASE_RTOL, atol=RELEASE_ATOL)


def test_release_0_1_0_network_file_loads_with_its_outputs() -> None:
    net = cr.load(RELEASE / "sequential.safetensors")
    X = np.load(RELEASE / "sequential_input.npy")
    _same_as_release(net.predict(X), RELEASE / "sequential_output.npy")


def test_release_0_1_0_tabular_file_loads_with_its_outputs() -> None:
    model = cr.load(RELEASE / "tabular.safetensors")
    frame = pd.read_csv(RELEASE / "tabular_input.csv")
    _same_as_release(model.predict_proba(frame), RELEASE / "tabular_proba.npy")


def test_release_0_1_0_estimator_files_load_with_their_outputs() -> None:
    pytest.importorskip("sklearn")
    clf = cr.load(RELEASE / "mlpclassifier.safetensors")
    X = np.load(RELEASE / "classifier_input.npy")
    _same_as_release(clf.predict_proba(X), RELEASE / "classifier_proba.npy")
    reg = cr.load(RELEASE / "mlpregressor.safetensors")
    Xr = np.load(RELEASE / "regressor_input.npy")
    _same_as_release(reg.predict(Xr), RELEASE / "regressor_output.npy")
