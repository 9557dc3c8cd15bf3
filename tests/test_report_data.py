"""``chainrule report --data``: scores on a held-out file equal scikit-learn's metrics on the
same predictions, the confusion matrix equals ``sklearn.metrics.confusion_matrix``, regressors
get a residual plot, the preprocessing table is there, and the explained step uses the model's
own optimizer with large matrices abbreviated. The page opens in Chromium without errors."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule import save
from chainrule.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
metrics = pytest.importorskip("sklearn.metrics")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page(HTMLParser):
    """The parts of the report the tests read: scores, confusion cells, trace rows, texts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.scores: dict[str, float] = {}
        self.confusion: list[list[int]] = []
        self.trace: dict[str, list[str]] = {}  # symbol -> [formula, shape, value]
        self.images: list[str] = []
        self.optimizer = ""
        self._stack: list[tuple[str, dict[str, Any]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in = {"confusion": False, "explain": False, "optimizer": False}
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and "data-score" in a:
            self.scores[str(a["data-score"])] = float(str(a["data-value"]))
        if tag == "table" and a.get("class") == "confusion":
            self._in["confusion"] = True
        if tag == "section" and a.get("id") == "explain":
            self._in["explain"] = True
        if tag == "p" and a.get("class") == "optimizer":
            self._in["optimizer"] = True
        if tag == "img":
            self.images.append(str(a.get("alt")))
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        if tag == "tr" and self._row is not None:
            header = self._row[0].startswith("true")
            if self._in["confusion"] and not header:
                self.confusion.append([int(v) for v in self._row[1:]])
            elif self._in["explain"] and len(self._row) == 4:
                self.trace.setdefault(self._row[0], self._row[1:])
            self._row = None
        if tag == "table":
            self._in["confusion"] = False
        if tag == "p":
            self._in["optimizer"] = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in["optimizer"]:
            self.optimizer += data


def numbers(text: str) -> np.ndarray:
    """The numbers of a printed matrix row by row (ellipses dropped)."""
    rows = [line for line in text.splitlines() if "⋮" not in line]
    return np.array(
        [[float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", line)] for line in rows]
    )


def mixed_frame(n: int, seed: int) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    colour = gen.choice(["red", "green", "blue"], n)
    a, b = gen.standard_normal(n), gen.standard_normal(n)
    score = a - b + np.select([colour == "red", colour == "green"], [0.8, -0.8], 0.0)
    label = np.select([score > 0.7, score < -0.7], ["high", "low"], "mid")
    value = 3.0 * a - 2.0 * b + np.where(colour == "red", 5.0, 0.0) + gen.normal(0, 0.5, n)
    return pd.DataFrame({"a": a, "colour": colour, "b": b, "label": label, "value": value})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from chainrule.tabular.model import TabularModel

    folder = tmp_path_factory.mktemp("report_data")
    train, held = folder / "train.csv", folder / "heldout.csv"
    mixed_frame(240, 0).to_csv(train, index=False)
    mixed_frame(90, 1).to_csv(held, index=False)
    frame = pd.read_csv(train)
    clf, _ = TabularModel.fit(
        frame.drop(columns=["value"]), "label", hidden=(32,), epochs=8, optimizer="adam", seed=0,
        ensemble=1,
    )  # fmt: skip
    reg, _ = TabularModel.fit(
        frame.drop(columns=["label"]),
        "value",
        hidden=(6,),
        epochs=8,
        optimizer="sgd",
        learning_rate=0.05,
        seed=0,
    )
    paths = {"clf": folder / "clf.crm", "reg": folder / "reg.crm"}
    save(clf, paths["clf"])
    save(reg, paths["reg"])
    pages = {}
    for kind, model_path in paths.items():
        out = folder / f"{kind}.html"
        target = "label" if kind == "clf" else "value"
        assert main(["report", str(model_path), "--data", str(held), "--target", target,
                     "--out", str(out)]) == 0  # fmt: skip
        pages[kind] = out
    return {"clf": clf, "reg": reg, "held": pd.read_csv(held), "pages": pages}


def test_classifier_scores_and_confusion_matrix_equal_sklearn(files: dict) -> None:
    model, held = files["clf"], files["held"]
    page = Page(files["pages"]["clf"].read_text(encoding="utf-8"))
    X = held.drop(columns=["label", "value"])
    truth, predicted = held["label"].to_numpy(), model.predict(X)
    proba = model.predict_proba(X)
    assert page.scores["accuracy"] == pytest.approx(metrics.accuracy_score(truth, predicted))
    expected_loss = metrics.log_loss(truth, proba, labels=model.classes)
    assert page.scores["log_loss"] == pytest.approx(expected_loss, rel=1e-9)
    expected = metrics.confusion_matrix(truth, predicted, labels=model.classes)
    assert np.array_equal(np.array(page.confusion), expected)
    assert "Residuals" not in page.images


def test_regressor_scores_equal_sklearn_and_residuals_are_drawn(files: dict) -> None:
    model, held = files["reg"], files["held"]
    page = Page(files["pages"]["reg"].read_text(encoding="utf-8"))
    truth = held["value"].to_numpy()
    predicted = model.predict(held.drop(columns=["label", "value"]))
    assert page.scores["rmse"] == pytest.approx(
        np.sqrt(metrics.mean_squared_error(truth, predicted)), rel=1e-9
    )
    assert page.scores["mae"] == pytest.approx(
        metrics.mean_absolute_error(truth, predicted), rel=1e-9
    )
    assert page.scores["r2"] == pytest.approx(metrics.r2_score(truth, predicted), rel=1e-9)
    assert "Residuals" in page.images and page.confusion == []
    # the trace names the model's own optimizer and its recorded rate
    assert "model's own optimizer, sgd (η = 0.05" in page.optimizer


def test_preprocessing_table_is_the_models_encoding(files: dict) -> None:
    text = files["pages"]["clf"].read_text(encoding="utf-8")
    assert 'id="preprocessing"' in text
    pre = re.search(r'<pre class="preprocessing">(.*?)</pre>', text, re.S)
    assert pre is not None
    held = pd.read_csv(files["pages"]["clf"].parent / "train.csv")
    lines = pre.group(1).splitlines()
    assert lines[0].split() == ["column", "kind", "encoding"]
    a = next(line for line in lines if line.startswith("a "))
    assert f"{held['a'].median():.4g}" in a and "numeric" in a  # the training median (robust)
    colour = next(line for line in lines if line.startswith("colour"))
    assert "one-hot" in colour and all(c in colour for c in ("red", "green", "blue"))


def test_trace_uses_adam_and_abbreviates_the_32_wide_layer(files: dict) -> None:
    model = files["clf"]
    page = Page(files["pages"]["clf"].read_text(encoding="utf-8"))
    rate = model.training["learning_rate"]
    assert f"model's own optimizer, adam (η = {rate:g})" in page.optimizer
    weights = {k: np.asarray(v) for k, v in model.network.params.items()}
    first = next(w for w in weights.values() if w.ndim == 2 and w.shape[1] == 32)
    formula, shape, value = page.trace["W1"]
    assert formula == "dense1.W"
    assert shape == str(first.shape)
    shown = numbers(value)
    assert shown.shape == (first.shape[0], 8) and value.count("…") == first.shape[0]
    corners = np.concatenate([first[:, :4], first[:, -4:]], axis=1)
    np.testing.assert_allclose(shown, corners, rtol=1e-4, atol=1e-6)
    second = next(w for w in weights.values() if w.ndim == 2 and w.shape[0] == 32)
    _, shape2, value2 = page.trace["W2"]
    assert shape2 == str(second.shape) and "⋮" in value2
    np.testing.assert_allclose(
        numbers(value2), np.concatenate([second[:4], second[-4:]]), rtol=1e-4, atol=1e-6
    )
    # Adam's first step from zero moments moves each weight by η·g/(|g| + ε): ±η, or 0 where
    # the gradient is 0 (a ReLU unit off for this row). Plain gradient descent would not.
    _, _, after = page.trace["W1⁺"]
    step = np.abs(numbers(after) - shown)
    assert np.all((np.abs(step - rate) < 2e-5) | (step < 2e-5)) and np.any(step > rate / 2)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_report_with_data_opens_in_chromium_without_errors(files: dict, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for kind in ("clf", "reg"):
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.on("console", lambda m: errors.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(files["pages"][kind].as_uri())
                page.wait_for_load_state("load")
                loaded = page.evaluate(
                    "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
                )
                assert loaded, kind
                page.screenshot(path=str(tmp_path / f"{kind}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert errors == []


@pytest.mark.parametrize(
    ("solver", "named"),
    [
        ("sgd", "model's own optimizer, sgd (η = 0.02, momentum 0.9, Nesterov)"),
        ("lbfgs", "plain gradient-descent step"),
    ],
)
def test_estimator_report_uses_its_solver(solver: str, named: str) -> None:
    from chainrule.estimators import MLPClassifier
    from chainrule.report import build_report

    gen = np.random.default_rng(5)
    X = gen.standard_normal((80, 3))
    y = np.where(X[:, 0] - X[:, 2] > 0, 7, 3)
    est = MLPClassifier(
        hidden_layer_sizes=(5,), solver=solver, learning_rate_init=0.02, max_iter=5, random_state=0
    )
    with pytest.warns(Warning):  # ConvergenceWarning after 5 iterations
        est.fit(X, y)
    page = Page(build_report(est, X, y))
    assert named in page.optimizer
    predicted = est.predict(X)
    assert page.scores["accuracy"] == pytest.approx(metrics.accuracy_score(y, predicted))
    assert page.scores["log_loss"] == pytest.approx(
        metrics.log_loss(y, est.predict_proba(X), labels=est.classes_), rel=1e-9
    )
    expected = metrics.confusion_matrix(y, predicted, labels=est.classes_)
    assert np.array_equal(np.array(page.confusion), expected)
