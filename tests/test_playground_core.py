"""The playground's engine side: data, the exported snippet and the L1 term, against oracles."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.playground.config import parse
from chainrule.playground.datasets import CLASSIFICATION, REGRESSION, make_dataset, split
from chainrule.playground.session import Session, build_network, make_trainer


def test_lecture_points_are_the_lectures() -> None:
    X, y = make_dataset("lecture")
    expected = np.random.RandomState(42).randn(500, 2)  # the lecture's np.random.seed(42)
    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, expected[:, 0] + expected[:, 1] > 0)


@pytest.mark.parametrize("name", [*CLASSIFICATION, *REGRESSION])
def test_every_data_set_is_seeded_and_split(name: str) -> None:
    X, y = make_dataset(name, noise=0.2, seed=3)
    again, _ = make_dataset(name, noise=0.2, seed=3)
    assert X.shape == (500, 2) and y.shape == (500,) and np.array_equal(X, again)
    train, test = split(500, 0.3, seed=3)
    assert len(train) == 150 and sorted([*train, *test]) == list(range(500))
    if name in CLASSIFICATION:
        classes = 3 if name == "blobs3" else 2
        assert set(np.unique(y)) == set(range(classes))


@pytest.mark.parametrize(
    "setup",
    [
        {},
        {"dataset": "spiral", "features": ["x1", "x2", "sinx1", "x1x2"], "hidden": [6, 6, 3],
         "optimizer": "adam", "l1": 0.003, "l2": 0.001, "dropout": 0.2, "batch_size": 7},
        {"problem": "regression", "dataset": "multigauss", "activation": "relu"},
    ],
)  # fmt: skip
def test_exported_snippet_retrains_to_the_pages_weights(setup: dict) -> None:
    session = Session("test")
    session.configure(parse(setup))
    for _ in range(6):
        session.control("step")
    code = session.export("python")[0].decode()
    namespace: dict = {}
    exec(
        compile(code.replace('cr.save(net, "playground.safetensors")', ""), "snippet", "exec"),
        namespace,
    )
    retrained = namespace["net"].params
    for name, value in session.network.params.items():
        np.testing.assert_array_equal(retrained[name], value, err_msg=name)


def test_l1_term_moves_each_weight_by_rate_times_sign() -> None:
    """One full-batch SGD step with and without L1 from the same weights differ by η·λ·sign(W)."""
    rate, strength = 0.1, 0.05
    results = []
    for l1 in (0.0, strength):
        config = parse({"l1": l1, "learning_rate": rate, "hidden": [3]})
        net, _ = build_network(config, 2, 2)
        start = {k: v.copy() for k, v in net.params.items()}
        X, y = make_dataset("xor", seed=0)
        make_trainer(config, net).fit(X, y, epochs=1, batch_size=None)
        results.append(net.params)
    for name, w0 in start.items():
        expected = -rate * strength * np.sign(w0) if name.endswith(".W") else 0.0
        np.testing.assert_allclose(results[1][name] - results[0][name], expected, atol=1e-12)


def test_model_export_loads_as_the_same_network(tmp_path) -> None:
    session = Session("test")
    session.configure(parse({"dataset": "blobs3", "hidden": [5]}))
    session.control("step")
    path = tmp_path / "m.safetensors"
    path.write_bytes(session.export("model")[0])
    X = np.random.default_rng(0).normal(size=(20, 2))
    np.testing.assert_array_equal(cr.load(path).predict(X), session.network.predict(X))


def test_bad_setups_are_refused_in_one_sentence() -> None:
    for raw, word in [
        ({"hidden": [0]}, "hidden"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"dataset": "plane"}, "dataset"),
        ({"features": ["x3"]}, "feature"),
        ({"features": []}, "feature"),
        ({"dataset": "upload", "axes": ["a"]}, "axes"),
        ([], "JSON object"),
    ]:
        with pytest.raises(ValueError, match=word):
            parse(raw)
    with pytest.raises(ValueError, match="upload a CSV"):
        Session("t").configure(
            parse({"dataset": "upload", "columns": ["a", "b"], "axes": ["a", "b"]})
        )
