"""The trained-model protocol answers everything plots, report and commands need, and those
consumers read models only through it (no attribute guessing in their source)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule.tabular.model import TabularModel

SRC = Path(cr.__file__).parent


def table(n: int = 60) -> pd.DataFrame:
    gen = np.random.default_rng(4)
    a, b = gen.standard_normal(n), gen.standard_normal(n)
    colour = np.where(a + b > 0, "red", "blue")
    return pd.DataFrame({"a": a, "b": b, "colour": colour, "amount": 3 * a - b + 10})


def test_tabular_classifier_answers_through_the_protocol() -> None:
    frame = table()
    model, _ = TabularModel.fit(
        frame.drop(columns=["amount"]), "colour", hidden=(4,), epochs=2, learning_rate=0.05
    )
    trained = cr.trained_model(model)
    assert trained.preprocessing is not None
    assert trained.preprocessing.input_columns == ["a", "b"]
    assert trained.preprocessing.target == "colour"
    assert trained.preprocessing.task == "classification"
    assert trained.settings["learning_rate"] == 0.05
    proba = trained.predict_proba(frame[["a", "b"]].iloc[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # class indices in the order of classes, from the raw label column
    t = trained.preprocessing.network_target(frame["colour"].iloc[:5])
    assert [trained.classes[i] for i in t] == list(frame["colour"].iloc[:5])


def test_tabular_regressor_scales_the_target_as_in_training() -> None:
    frame = table()
    model, _ = TabularModel.fit(frame.drop(columns=["colour"]), "amount", hidden=(4,), epochs=1)
    trained = cr.trained_model(model)
    assert trained.predict_proba is None and trained.classes is None
    y = frame["amount"].to_numpy()
    t = trained.preprocessing.network_target(y)
    # standardized targets: zero mean, unit (population) spread over the training rows
    assert abs(t.mean()) < 1e-12
    assert t.std() == pytest.approx(1.0, rel=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_probabilities_come_through_the_protocol() -> None:
    pytest.importorskip("sklearn")
    from chainrule.estimators import MLPClassifier, MLPRegressor

    gen = np.random.default_rng(0)
    X = gen.standard_normal((40, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, y)
    trained = cr.trained_model(clf)
    assert trained.classes == [0, 1]
    np.testing.assert_allclose(trained.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    assert trained.settings["hidden_layer_sizes"] == (3,)
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, X[:, 0])
    assert cr.trained_model(reg).predict_proba is None


@pytest.mark.parametrize(
    "path",
    [
        SRC / "report.py",
        *sorted((SRC / "plots").glob("*.py")),
        *sorted((SRC / "commands").glob("*.py")),
    ],
    ids=lambda p: p.name,
)
def test_consumers_do_not_guess_attributes(path: Path) -> None:
    text = path.read_text()
    guesses = re.findall(r"(?:getattr|hasattr)\((?:model|source|obj|parts\.source)\b", text)
    guesses += re.findall(r"\b(?:classes_|preprocessor|network_|history_)\b", text)
    assert not guesses, f"{path.name} reads a wrapper's attributes: {guesses}"
