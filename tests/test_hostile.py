"""The library against hostile and faulty input (issue 21): divergence every solver detects the
same way, networks too large for memory, and the data cases of docs/reliability.md.

Oracles: what each case must do is stated by the case itself — a run that ends with a loss
10^26 times its start has diverged whatever the solver; weights restored after a refused run
are compared byte for byte with a copy taken before it.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.devices import check_fits_in_memory
from chainrule.estimators import MLPRegressor
from chainrule.network import optimizers
from chainrule.training.trainer import DIVERGENCE_FACTOR, Trainer


@pytest.fixture
def regression() -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(0)
    X = gen.standard_normal((200, 4))
    return X, X @ np.array([1.0, 2.0, 3.0, 4.0])


# -- 6. divergence ---------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_every_solver_reports_a_diverged_fit(solver: str, regression) -> None:
    """Today's main: Adam returns with a loss of 4.8e26 and no word; sgd raises."""
    X, y = regression
    with warnings.catch_warnings(), pytest.raises(ValueError, match="non-finite parameter weights"):
        warnings.simplefilter("ignore")
        MLPRegressor(solver=solver, learning_rate_init=1e6, random_state=0, max_iter=20).fit(X, y)


@pytest.mark.parametrize("name", sorted(optimizers.OPTIMIZERS))
def test_trainer_detects_an_exploding_loss_for_every_optimizer(name: str, regression) -> None:
    X, y = regression
    net = cr.Sequential([cr.Dense(4, 16, rng=0), cr.Tanh(), cr.Dense(16, 1, rng=1)])
    start = copy.deepcopy(net.params)
    trainer = Trainer(net, "mse", optimizers.get(name, learning_rate=1e6))
    history = trainer.fit(X, y[:, None], epochs=10, batch_size=20, rng=0)
    assert history.stop_reason == "non_finite"
    # no recorded epoch has a loss beyond the divergence threshold of the starting loss
    start_loss = float(np.mean((_predict(start, X) - y[:, None]) ** 2))
    recorded = history.history.get("loss", [])
    assert all(v <= DIVERGENCE_FACTOR * start_loss for v in recorded)
    # and the weights left are those before the bad epoch: the start's when it was the first
    if not recorded:
        for key, value in start.items():
            assert np.array_equal(net.params[key], value), key
    final_loss = float(np.mean((_predict(net.params, X) - y[:, None]) ** 2))
    assert np.isfinite(final_loss) and final_loss <= DIVERGENCE_FACTOR * start_loss


def _predict(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The 4-16-1 tanh network of ``params``, written out independently of chainrule."""
    W1, b1, W2, b2 = (params[k] for k in sorted(params))
    return np.tanh(X @ W1 + b1) @ W2 + b2


def test_a_diverging_warm_start_keeps_the_good_weights(regression) -> None:
    """Today's main: a warm-started Adam fit that diverges silently replaces the weights."""
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(solver="adam", random_state=0, max_iter=300).fit(X, y)
    before = [w.copy() for w in model.coefs_]
    score = model.score(X, y)
    model.set_params(warm_start=True, learning_rate_init=1e6)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="non-finite parameter weights"):
        warnings.simplefilter("ignore")
        model.fit(X, y)
    for old, new in zip(before, model.coefs_, strict=True):
        assert np.array_equal(old, new)
    assert model.score(X, y) == score


def test_a_slow_but_sane_fit_is_not_called_diverged(regression) -> None:
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(solver="adam", learning_rate_init=1.0, random_state=0, max_iter=30)
        model.fit(X, y)
    assert model.loss_curve_[0] * DIVERGENCE_FACTOR > max(model.loss_curve_)


# -- 7. memory -------------------------------------------------------------------------------
def test_a_layer_that_cannot_fit_in_memory_is_refused_before_allocation(regression) -> None:
    """Today's main allocates it (the issue's 10^7 units grew to 24 GB and were killed)."""
    X, y = regression
    model = MLPRegressor(hidden_layer_sizes=(10**9,), max_iter=1)
    with pytest.raises(MemoryError, match=r"hidden layer 1, 4 → 1000000000 units") as info:
        model.fit(X, y)
    assert str(info.value).count(".") <= 4 and "batch_size" in str(info.value)
    assert not hasattr(model, "coefs_")


def test_the_memory_estimate_counts_weights_moments_and_one_batch() -> None:
    # 4 → 10^7 with a batch of 200 float64 rows: 4 copies of 5·10^7 parameters, and 3 of
    # 200 × 10^7 activations — written out here from the definition, not from the code
    needs = 8 * (4 * (4 * 10**7 + 10**7) + 3 * 200 * 10**7)
    check_fits_in_memory([4, 10**7], 200, limit=needs)
    with pytest.raises(MemoryError, match="output layer"):
        check_fits_in_memory([4, 10**7], 200, limit=needs - 1)
    check_fits_in_memory([4, 100, 1], 200, limit=10**7)
    with pytest.raises(MemoryError, match="output layer"):
        check_fits_in_memory([4, 3, 10**6], 200, limit=10**9)


# -- 9. data cases -----------------------------------------------------------------------------
def test_true_false_where_numbers_were_trained_is_refused_by_name() -> None:
    """Today's main reads true/false as 1/0 and predicts something else, silently."""
    pd = pytest.importorskip("pandas")
    from chainrule.tabular.data import DataError
    from chainrule.tabular.preprocessing import TablePreprocessor

    train = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    pre = TablePreprocessor().fit(train, ["a", "b"])
    new = pd.DataFrame({"a": [1.0, 2.0], "b": [True, False]})
    with pytest.raises(DataError, match=r"'b' in 'new.csv' holds true/false"):
        pre.transform(new, "new.csv")


def test_a_mostly_text_column_with_numbers_says_it_becomes_categories() -> None:
    pd = pytest.importorskip("pandas")
    from chainrule.tabular.columns import check_column

    series = pd.Series(["red", "blue", "green", "3", "red", "7"])
    with pytest.warns(UserWarning, match=r"'colour' in 't.csv' holds 2 numbers among 4 text"):
        check_column(series, "colour", "t.csv")


def test_parquet_decimals_are_numbers(tmp_path) -> None:
    """Today's main reads a decimal128 column as text and refuses it."""
    pa = pytest.importorskip("pyarrow")
    import decimal

    import pyarrow.parquet as pq

    from chainrule.tabular.data import read_table

    prices = [decimal.Decimal(f"{i}.25") for i in range(8)]
    table = pa.table({"price": pa.array(prices, pa.decimal128(10, 2)), "y": list(range(8))})
    pq.write_table(table, tmp_path / "d.parquet")
    frame = read_table(tmp_path / "d.parquet")
    assert frame["price"].dtype == np.float64
    np.testing.assert_array_equal(frame["price"].to_numpy(), [float(p) for p in prices])


def test_a_header_naming_a_column_twice_is_refused(tmp_path) -> None:
    """Today's main renames the second 'a' to 'a.1', silently."""
    from chainrule.tabular.data import DataError, read_table

    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match=r"names column 'a' twice"):
        read_table(path)


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch) -> None:
    import errno
    import os

    from chainrule import io

    target = tmp_path / "model.safetensors"
    target.write_bytes(b"the good model")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io.os, "fsync", full)
    with pytest.raises(OSError, match=r"Cannot write '.*model\.safetensors' \(No space left"):
        io.atomic_write_bytes(target, b"x" * 1000)
    assert target.read_bytes() == b"the good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
