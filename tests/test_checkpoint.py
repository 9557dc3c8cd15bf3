"""Checkpoints and resume: a run stopped, saved, loaded and resumed equals one never stopped.

The oracle for every resume test is the same computation done without interruption: if any
part of the state (optimizer moments, step counts, shuffle or dropout generators, the
monitor's best value) were lost or altered, the weights would differ in their last bits.
"""

from __future__ import annotations

import copy
import csv

import numpy as np
import pytest

import chainrule
from chainrule import CSVLogger, Dense, Dropout, ModelCheckpoint, Sequential, Trainer
from chainrule.io import ModelFileError, read_state, write_state
from chainrule.network import optimizers, regularization
from chainrule.network.activations import ReLU
from chainrule.network.optimizer_state import from_spec

pytest.importorskip("safetensors")


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(60)
    return X[:48], y[:48], X[48:], y[48:]


def _trainer() -> Trainer:
    rng = np.random.default_rng(0)
    net = Sequential(
        [
            Dense(3, 8, rng=rng),
            ReLU(),
            Dropout(0.3, rng=np.random.default_rng(7)),
            Dense(8, 1, rng=rng),
        ]
    )
    return Trainer(net, "mse", optimizers.adam(0.01), metrics=["mae"])


def _same(a: Trainer, b: Trainer) -> None:
    for k, v in a.network.params.items():
        assert np.array_equal(v, b.network.params[k]), k
    assert a.history.history == b.history.history
    assert a.history.best_epoch == b.history.best_epoch


def test_ten_epochs_equal_five_saved_loaded_and_five_more(tmp_path):
    X, y, Xv, yv = _data()
    fit = {"batch_size": 8, "validation_data": (Xv, yv)}
    straight = _trainer()
    straight.fit(X, y, epochs=10, rng=0, **fit)

    first = _trainer()
    first.fit(X, y, epochs=5, rng=0, **fit)
    chainrule.save(first, tmp_path / "run.safetensors")
    resumed = chainrule.load(tmp_path / "run.safetensors")
    assert isinstance(resumed, Trainer) and len(resumed.history) == 5
    resumed.fit(X, y, epochs=5, **fit)  # rng=None: the saved shuffle generator continues
    _same(straight, resumed)
    assert resumed.history.epoch == list(range(10))


def test_checkpoint_written_mid_run_resumes_exactly(tmp_path):
    X, y, Xv, yv = _data()
    fit = {"batch_size": 8, "validation_data": (Xv, yv)}
    straight = _trainer()
    straight.fit(X, y, epochs=10, rng=0, **fit)

    checkpoint = ModelCheckpoint(tmp_path / "ck{epoch:02d}.safetensors", every=5)
    _trainer().fit(X, y, epochs=7, rng=0, callbacks=[checkpoint], **fit)  # "killed" at epoch 7
    assert [p.name for p in checkpoint.saved] == ["ck05.safetensors"]
    resumed = chainrule.load(checkpoint.saved[0])
    resumed.fit(X, y, epochs=5, **fit)
    _same(straight, resumed)


def test_best_checkpoint_holds_the_best_epochs_weights(tmp_path):
    X, y, Xv, yv = _data()
    trainer = _trainer()
    checkpoint = ModelCheckpoint(tmp_path / "best.safetensors", save_best=True)
    history = trainer.fit(
        X, y, epochs=12, batch_size=8, rng=0, validation_data=(Xv, yv), callbacks=[checkpoint]
    )
    best = int(np.argmin(history["val_loss"]))
    loaded = chainrule.load(tmp_path / "best.safetensors")
    assert len(loaded.history) == best + 1
    # scored afresh on the validation rows, the file's weights give the best epoch's val_loss
    assert loaded.evaluate(Xv, yv)["loss"] == pytest.approx(history["val_loss"][best], rel=1e-12)


def test_csv_logger_rows_and_resumed_append(tmp_path):
    X, y, Xv, yv = _data()
    path = tmp_path / "log.csv"
    trainer = _trainer()
    trainer.fit(X, y, epochs=3, rng=0, validation_data=(Xv, yv), callbacks=[CSVLogger(path)])
    trainer.fit(X, y, epochs=2, validation_data=(Xv, yv), callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]  # 1-based, as people count
    assert [float(r["val_loss"]) for r in rows] == trainer.history["val_loss"]
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae", "lr"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.sgd(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda: optimizers.adam(0.01, weight_decay=1e-2),
        lambda: optimizers.adamw(0.01),
        lambda: optimizers.rmsprop(0.01, momentum=0.5, centered=True),
        lambda: regularization.regularize(
            optimizers.adam(0.01), l1=1e-3, clip_grad_norm=1.0, clip_value=0.5, max_weight_norm=2.0
        ),
    ],
)
def test_spec_rebuilds_the_same_update_rule(make):
    original, rebuilt = make(), from_spec(make().spec)
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    s1, s2 = original.init(params), rebuilt.init(params)
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        u1, s1 = original.update(copy.deepcopy(grads), s1, params)
        u2, s2 = rebuilt.update(copy.deepcopy(grads), s2, params)
        for k in params:
            assert np.array_equal(u1[k], u2[k])
            params[k] = params[k] + u1[k]


def test_a_schedule_is_code_and_refused_in_one_sentence(tmp_path):
    net = Sequential([Dense(2, 1, rng=0)])
    trainer = Trainer(net, "mse", optimizers.sgd(optimizers.exponential_decay(0.1, 0.9)))
    trainer.fit(np.zeros((4, 2)), np.zeros(4), epochs=1)
    with pytest.raises(ValueError, match="constant learning_rate"):
        chainrule.save(trainer, tmp_path / "t.safetensors")


def test_forged_generator_state_is_a_one_line_model_file_error(tmp_path):
    X, y, _, _ = _data()
    trainer = _trainer()
    trainer.fit(X, y, epochs=1, rng=0)
    path = tmp_path / "t.safetensors"
    chainrule.save(trainer, path)
    tensors, meta = read_state(path)
    meta["rng"]["generators"][0]["state"] = '{"bit_generator": "os.system"}'
    write_state(path, tensors, meta)
    with pytest.raises(ModelFileError, match="random generator"):
        chainrule.load(path)


def test_dropout_accepts_a_legacy_random_state():
    layer = Dropout(0.25, rng=np.random.RandomState(3))
    x = np.ones((4, 5))
    out = layer.forward(x, training=True)
    keep = np.random.RandomState(3).random_sample((4, 5)) < 0.75  # numpy's own draws
    assert np.array_equal(out, np.where(keep, 1 / 0.75, 0.0))


def test_deep_copied_network_draws_the_same_dropout_masks():
    net = Sequential([Dense(3, 3, rng=0), Dropout(0.5, rng=np.random.default_rng(4))])
    twin = copy.deepcopy(net)
    x = np.ones((6, 3))
    assert np.array_equal(net.forward(x, training=True), twin.forward(x, training=True))


@pytest.mark.parametrize(
    "solver, extra",
    [("adam", {"dropout": 0.2}), ("sgd", {"momentum": 0.9, "learning_rate": "adaptive"})],
)
def test_estimator_partial_fit_after_load_continues_where_it_stopped(tmp_path, solver, extra):
    pytest.importorskip("sklearn")
    from chainrule import MLPClassifier

    X, y, _, _ = _data()
    labels = (y > 0).astype(int)
    params = {"hidden_layer_sizes": (8,), "solver": solver, "random_state": 0, "batch_size": 16}
    straight = MLPClassifier(**params, **extra)
    for _ in range(6):
        straight.partial_fit(X, labels, classes=[0, 1])
    first = MLPClassifier(**params, **extra)
    for _ in range(3):
        first.partial_fit(X, labels, classes=[0, 1])
    chainrule.save(first, tmp_path / "m.safetensors")
    resumed = chainrule.load(tmp_path / "m.safetensors")
    for _ in range(3):
        resumed.partial_fit(X, labels)
    for k, v in straight.network_.params.items():
        assert np.array_equal(v, resumed.network_.params[k]), k
    assert straight.loss_curve_ == resumed.loss_curve_
