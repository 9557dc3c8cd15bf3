"""The defaults for real tables, each checked against an independent oracle.

* missing numbers: scikit-learn's ``SimpleImputer(strategy="median", add_indicator=True)``;
* robust scaling: scikit-learn's ``RobustScaler`` (which ignores NaN when fitting) followed by
  the smooth clip :math:`z/\\sqrt{1 + (z/3)^2}` written out here (RealMLP-TD's);
* text columns: ``OneHotEncoder(handle_unknown="ignore")`` after a constant imputer;
* identifiers: pandas' own ``nunique`` and the row count;
* the separator: files written by :mod:`csv` with each separator, read back by pandas;
* early stopping: the weights seen at each epoch, recorded by a callback, against the weights
  the model ends with, and ``numpy.argmin`` of the validation losses;
* the estimators: scikit-learn's ``check_estimator``, ``cross_val_score``, ``GridSearchCV``,
  ``Pipeline``, and onnxruntime running the exported graph.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, RobustScaler, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import chainrule
from chainrule.network.activations import ReLU, Tanh
from chainrule.network.containers import Sequential
from chainrule.network.embedding import ColumnEmbedding
from chainrule.network.layers import Dense, Dropout
from chainrule.tabular.columns import identifier_columns
from chainrule.tabular.data import DataError, read_table
from chainrule.tabular.ensemble import merge_members
from chainrule.tabular.estimator import TabularClassifier, TabularRegressor
from chainrule.tabular.model import TabularModel
from chainrule.tabular.preprocessing import EMBED_AUTO_LEVELS, MISSING_LEVEL, TablePreprocessor
from chainrule.training.callbacks import Callback

SMALL = {"hidden": (32,), "epochs": 30, "batch_size": 32, "ensemble": 1}
"""A network small enough for the suite; the defaults under test are the preprocessing's."""


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Skewed amounts, missing numbers and text, an identifier, a binary target."""
    gen = np.random.default_rng(5)
    n = 300
    income = gen.lognormal(10, 1.2, n)  # skewed, with outliers
    age = gen.normal(40, 12, n)
    age[gen.random(n) < 0.15] = np.nan
    city = gen.choice(["Oslo", "Lima", "Pune", "Kyiv"], n).astype(object)
    city[gen.random(n) < 0.1] = None
    store = gen.choice([f"s{i:02d}" for i in range(25)], n)  # more levels than EMBED_AUTO_LEVELS
    score = np.log(income) - 10 + np.nan_to_num((age - 40) / 12) + (city == "Oslo")
    return pd.DataFrame(
        {
            "customer": [f"C{i:05d}" for i in gen.permutation(n)],  # an identifier
            "income": income,
            "age": age,
            "city": city,
            "store": store,
            "bought": np.where(score + gen.normal(0, 0.5, n) > 0, "yes", "no"),
            "spent": 3 * score + gen.normal(0, 0.3, n),
        }
    )


# -- preprocessing ---------------------------------------------------------------------------
def _smooth_clip(z: np.ndarray, c: float = 3.0) -> np.ndarray:
    return z / np.sqrt(1 + (z / c) ** 2)


def test_robust_scaling_with_indicator_matches_scikit_learn(table: pd.DataFrame) -> None:
    pre = TablePreprocessor("median", None, "robust", True).fit(table, ["income", "age"])
    encoded = pre.transform(table)
    assert pre.feature_names == ["income", "age", f"age={MISSING_LEVEL}"]
    scaled = RobustScaler().fit_transform(table[["income", "age"]])  # NaN ignored in fit
    # median imputation puts a missing value at the median, which robust scaling maps to 0
    expected = _smooth_clip(np.nan_to_num(scaled, nan=0.0))
    np.testing.assert_allclose(encoded[:, :2], expected, rtol=1e-12, atol=1e-12)
    indicator = SimpleImputer(strategy="median", add_indicator=True).fit_transform(table[["age"]])
    np.testing.assert_array_equal(encoded[:, 2], indicator[:, 1])
    assert np.abs(encoded[:, :2]).max() < 3.0  # the clip bounds every value


def test_robust_scaling_of_a_mostly_constant_column_uses_its_standard_deviation() -> None:
    gen = np.random.default_rng(2)
    visits = np.where(gen.random(400) < 0.8, 0.0, gen.poisson(3.0, 400))  # zero-inflated
    visits[0] = 141.0  # one outlier
    frame = pd.DataFrame({"visits": visits})
    assert np.subtract(*np.percentile(visits, [75, 25])) == 0  # the quartiles coincide
    pre = TablePreprocessor("median", None, "robust").fit(frame, ["visits"])
    sd = StandardScaler().fit(frame).scale_[0]  # the population standard deviation
    expected = _smooth_clip((visits - np.median(visits)) / sd)
    np.testing.assert_allclose(pre.transform(frame)[:, 0], expected, rtol=1e-12)
    one, two = pre.transform(pd.DataFrame({"visits": [1.0, 2.0]}))[:, 0]
    assert two - one > 0.1  # 1 and 2 visits stay apart despite the outlier


def test_standard_scaling_with_indicator_matches_scikit_learn(table: pd.DataFrame) -> None:
    pre = TablePreprocessor("median", None, "standard", True).fit(table, ["income", "age"])
    reference = SimpleImputer(strategy="median", add_indicator=True).fit_transform(
        table[["income", "age"]]
    )
    numbers = StandardScaler().fit_transform(reference[:, :2])
    encoded = pre.transform(table)
    np.testing.assert_allclose(encoded[:, [0, 1]], numbers, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(encoded[:, 2], reference[:, 2])


def _nan_for_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Text with ``np.nan`` as scikit-learn's imputers expect (pandas may hold ``None``)."""
    return frame.astype(object).where(frame.notna(), np.nan)


def test_text_gets_a_missing_level_and_unseen_values_the_zero_row(table: pd.DataFrame) -> None:
    pre = TablePreprocessor("median", None, "robust", True).fit(table, ["city"])
    fresh = pd.DataFrame({"city": ["Oslo", None, "Rome", "Kyiv"]})  # Rome: never seen
    reference = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_LEVEL),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    ).fit(_nan_for_missing(table[["city"]]))
    expected = reference.transform(_nan_for_missing(fresh))
    theirs = [n.replace("city_", "city=") for n in reference.get_feature_names_out()]
    order = [theirs.index(n) for n in pre.feature_names]
    np.testing.assert_array_equal(pre.transform(fresh), expected[:, order])
    assert pre.transform(fresh)[2].sum() == 0  # unseen: the all-zero row


def test_many_levels_are_embedded_and_few_one_hot(table: pd.DataFrame) -> None:
    pre = TablePreprocessor("median", "auto", "robust", True).fit(table, ["city", "store"])
    kinds = {c["name"]: c["kind"] for c in pre.columns_}
    levels = table[["city", "store"]].nunique()
    assert levels["city"] <= EMBED_AUTO_LEVELS < levels["store"]
    assert kinds == {"city": "categorical", "store": "embedded"}
    codes = pre.transform(pd.DataFrame({"city": ["Oslo"] * 2, "store": ["s03", "nowhere"]}))[:, -1]
    assert codes.tolist() == [sorted(table["store"].unique()).index("s03") + 1, 0]


def test_preprocessing_survives_its_json(table: pd.DataFrame) -> None:
    pre = TablePreprocessor("median", "auto", "robust", True).fit(
        table, ["income", "age", "city", "store"]
    )
    back = TablePreprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(back.transform(table), pre.transform(table))


# -- identifiers -----------------------------------------------------------------------------
def test_identifier_columns_are_found_by_their_counts(table: pd.DataFrame) -> None:
    frame = table.assign(
        row=np.random.default_rng(0).permutation(len(table)) + 1,  # a shuffled row counter
        visits=np.arange(len(table)) * 2,  # distinct integers, not a counter
    )
    found = identifier_columns(frame, ["customer", "row", "visits", "income", "city"])
    assert set(found) == {"customer", "row"}
    assert frame["customer"].nunique() == len(frame) and frame["income"].nunique() == len(frame)


def test_the_model_leaves_identifiers_out_unless_asked(table: pd.DataFrame) -> None:
    frame = table.drop(columns=["spent"])
    model, _ = TabularModel.fit(frame, "bought", **SMALL)
    assert "customer" not in model.preprocessor.input_columns
    assert set(model.training["left_out"]) == {"customer"}
    kept, _ = TabularModel.fit(frame, "bought", keep_ids=True, **SMALL)
    assert "customer" in kept.preprocessor.input_columns  # … then embedded (300 levels)


# -- reading ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_separator_is_detected(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream, delimiter=sep)
        writer.writerow(["name", "price", "note"])
        writer.writerows([["a", "1.5", "x, y; z"], ["b", "2", "w|v"], ["c", "3", "plain"]])
    expected = pd.read_csv(path, sep=sep)
    pd.testing.assert_frame_equal(read_table(path), expected)
    assert read_table(path).shape == (3, 3)


def test_the_separator_agrees_with_pandas_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a;b;c\n1;2;3\n4;5;6\n")
    pd.testing.assert_frame_equal(read_table(path), pd.read_csv(path, sep=None, engine="python"))
    one = read_table(path, sep=",")  # --sep overrides: one column named "a;b;c"
    assert list(one.columns) == ["a;b;c"]


def test_cli_reads_semicolons_and_names_the_identifier(tmp_path: Path, table: pd.DataFrame) -> None:
    data = tmp_path / "customers.csv"
    table.drop(columns=["spent"]).to_csv(data, sep=";", index=False)
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", str(data), "--target", "bought",
         "--hidden", "16", "--epochs", "5", "--out", str(tmp_path / "m.safetensors"), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("Left out")]
    assert lines == [
        "Left out 'customer': it has a different value in every row, so it looks like a row "
        "identifier (keep it with --keep-ids)."
    ]
    assert "weights kept    epoch" in done.stdout


# -- training --------------------------------------------------------------------------------
class _EveryEpoch(Callback):
    """The weights at the end of every epoch (an independent record of what training saw)."""

    def __init__(self) -> None:
        self.weights: list[dict[str, np.ndarray]] = []

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.weights.append({k: np.array(v) for k, v in trainer.network.params.items()})


def test_early_stopping_keeps_the_best_epoch_by_default(table: pd.DataFrame) -> None:
    seen = _EveryEpoch()
    frame = table.drop(columns=["bought"])
    model, _ = TabularModel.fit(
        frame, "spent", hidden=(64,), callbacks=[seen], epochs=60, ensemble=1
    )
    losses = model.history.history["val_loss"]
    best = int(np.argmin(losses))
    assert model.history.best_epoch == best
    assert len(losses) < 60 or model.history.stop_reason is None
    for name, value in model.network.params.items():
        np.testing.assert_array_equal(np.asarray(value), seen.weights[best][name])


def test_an_empty_column_is_left_out(table: pd.DataFrame) -> None:
    frame = table.drop(columns=["spent"]).assign(notes=np.nan)
    model, _ = TabularModel.fit(frame, "bought", **SMALL)
    assert model.training["left_out"]["notes"] == "it has no values"
    assert frame["notes"].notna().sum() == 0 and "notes" not in model.preprocessor.input_columns


def test_rows_without_a_target_are_left_out(table: pd.DataFrame) -> None:
    frame = table.drop(columns=["bought"]).copy()
    frame.loc[::7, "spent"] = np.nan
    model, _ = TabularModel.fit(frame, "spent", **SMALL)
    assert model.training["unlabelled_rows"] == int(frame["spent"].isna().sum())
    assert model.training["rows"] == int(frame["spent"].notna().sum())


# -- the ensemble ----------------------------------------------------------------------------
def _member(n_in: int, seed: int) -> Sequential:
    """Embeddings of columns 1 and 3, then Dense → ReLU → Dropout → Dense → Tanh → Dense (3)."""
    rng = np.random.default_rng(seed)
    front = ColumnEmbedding(n_in, [1, 3], [5, 7], rng=rng)
    width = front.output_dim(n_in)
    return Sequential(
        [front, Dense(width, 6, rng=rng), ReLU(), Dropout(0.3, rng=rng),
         Dense(6, 4, rng=rng), Tanh(), Dense(4, 3, rng=rng)]
    )  # fmt: skip


def test_the_merged_ensemble_is_the_mean_of_its_members() -> None:
    gen = np.random.default_rng(0)
    X = gen.normal(size=(50, 5))
    X[:, 1], X[:, 3] = gen.integers(0, 5, 50), gen.integers(0, 7, 50)  # category codes
    members = [_member(5, seed) for seed in range(3)]
    merged = merge_members(members)
    mean = np.mean([m.predict(X) for m in members], axis=0)  # each member on its own
    np.testing.assert_allclose(merged.predict(X), mean, rtol=1e-12, atol=1e-12)
    assert merged.layers[1].params["W"].shape == (3 + 3 * (3 + 4), 18)  # [x_num, 3·E¹, 3·E³]
    assert merge_members(members[:1]) is members[0]
    with pytest.raises(ValueError, match="one architecture"):
        merge_members([members[0], Sequential([Dense(5, 3)])])


def test_the_default_model_is_an_ensemble_of_members(
    table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chainrule.tabular.model as model_module

    trained: list[Sequential] = []

    def recording(networks):  # the members as trained, before they are merged
        trained.extend(networks)
        return merge_members(networks)

    monkeypatch.setattr(model_module, "merge_members", recording)
    frame = table.drop(columns=["bought"])
    options = {"hidden": (16,), "epochs": 8, "batch_size": 32, "seed": 3}
    model, _ = TabularModel.fit(frame, "spent", **options, ensemble=3)
    single, _ = TabularModel.fit(frame, "spent", **options, ensemble=1)
    X = model.transform(frame)
    assert len(trained) == 4 and len(model.training["ensemble"]["epochs_kept"]) == 3
    # the first member is the single network of the same seed; the model is the members' mean
    np.testing.assert_array_equal(trained[0].predict(X), single.network.predict(X))
    mean = np.mean([net.predict(X) for net in trained[:3]], axis=0)
    np.testing.assert_allclose(model.network.predict(X), mean, rtol=1e-12, atol=1e-12)
    assert not np.allclose(trained[1].predict(X), trained[0].predict(X))  # members differ
    with pytest.raises(DataError, match="ensemble must be a whole number"):
        TabularModel.fit(frame, "spent", ensemble=0)


def test_cli_trains_and_describes_an_ensemble(tmp_path: Path, table: pd.DataFrame) -> None:
    data, out = tmp_path / "customers.csv", tmp_path / "m.safetensors"
    table.drop(columns=["spent"]).to_csv(data, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", str(data), "--target", "bought",
         "--hidden", "8", "--epochs", "4", "--ensemble", "2", "--out", str(out), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert " × 2 averaged, " in done.stdout
    model = chainrule.load(out)
    _, sizes = model.preprocessor.embedded()  # one member: min(50, ⌈V/2⌉) numbers per table
    width = model.n_features - len(sizes) + sum(min(50, (v + 1) // 2) for v in sizes)
    assert f" -> {width} embedded -> 8 -> 2 (relu) × 2 averaged" in done.stdout
    kept = model.training["ensemble"]["epochs_kept"]
    assert f"epochs kept {kept[0]}, {kept[1]} " in done.stdout and len(kept) == 2
    assert model.network.layers[1].params["W"].shape[1] == 2 * 8  # two members side by side
    info = subprocess.run(
        [sys.executable, "-m", "chainrule", "info", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert info.returncode == 0, info.stderr
    assert f"2 networks, each stopped by its own validation rows; epochs kept {kept[0]}, {kept[1]}" in info.stdout  # fmt: skip
    assert "Training history (the first network's run):" in info.stdout


# -- the estimators --------------------------------------------------------------------------
@parametrize_with_checks(
    [
        TabularClassifier(hidden=(64,), batch_size=32, ensemble=2),
        TabularRegressor(hidden=(64,), batch_size=32, ensemble=1),
    ]
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_estimators_in_cross_validation_search_and_pipeline(table: pd.DataFrame) -> None:
    X, y = table.drop(columns=["bought", "spent"]), table["bought"]
    folds = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(TabularClassifier(random_state=0, **SMALL), X, y, cv=folds)
    majority = (y == y.mode()[0]).mean()
    assert scores.mean() > majority + 0.1  # it learns, from text and missing values
    search = GridSearchCV(
        TabularRegressor(random_state=0, **SMALL), {"scale": ["robust", "standard"]}, cv=folds
    ).fit(X, table["spent"])
    assert search.best_params_["scale"] in ("robust", "standard")
    pipe = make_pipeline(
        FunctionTransformer(lambda f: f.drop(columns=["customer"])),
        clone(TabularClassifier(random_state=0, **SMALL)),
    ).fit(X, y)
    assert set(pipe.predict(X)) <= set(y)


def test_the_estimator_saves_and_exports(table: pd.DataFrame, tmp_path: Path) -> None:
    import onnxruntime as ort

    from chainrule.onnx_export import build_onnx, onnx_input

    X, y = table.drop(columns=["bought", "spent"]), table["bought"]
    model = TabularClassifier(random_state=1, **{**SMALL, "ensemble": 3}).fit(X, y)
    assert model.model_.training["ensemble"]["members"] == 3  # one merged network, below
    back = chainrule.load(chainrule.save(model, tmp_path / "m.safetensors"))
    assert type(back) is TabularClassifier
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert back.get_params() == {**model.get_params(), "random_state": None, "hidden": [32]}
    session = ort.InferenceSession(
        build_onnx(model, 13).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, probabilities = session.run(None, {"input": onnx_input(model.model_, X)})
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(X))


# -- the benchmark script --------------------------------------------------------------------
def test_benchmark_script_runs_without_its_peers(capsys) -> None:
    """``python -m benchmarks.tables`` on one bundled table: a smoke run, figures unchecked."""
    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:  # benchmarks/ is a top-level folder of the repository
        sys.path.insert(0, str(root))
    from benchmarks import tables

    contenders = "TabularClassifier/Regressor,sklearn MLP"
    options = ["--seeds", "1", "--set", "ensemble=2", "--set", "hidden=[16]"]
    assert tables.main(["--tables", "diabetes", "--contenders", contenders, *options]) == 0
    out = capsys.readouterr().out
    assert "| diabetes | RMSE |" in out and "**fit seconds**" in out
    assert tables.ESTIMATOR_OPTIONS == {"ensemble": 2, "hidden": [16]}
