"""Model files and preprocessing.

Oracles: the ``safetensors`` library reading our files on its own, scikit-learn's
``StandardScaler`` / ``OneHotEncoder`` for the preprocessing, and for damage, files we damage
by hand (truncation, flipped bytes, a newer format, inconsistent tensors).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule import io as modelfile
from chainrule import persist
from chainrule.io import ModelFileError
from chainrule.tabular.model import TabularModel
from chainrule.tabular.preprocessing import TablePreprocessor


def _net(rng: np.random.Generator, dtype: str = "float64") -> cr.Sequential:
    return cr.Sequential(
        [
            cr.Dense(3, 5, rng=rng, dtype=dtype),
            cr.GELU(),
            cr.Dropout(0.25, rng=rng),
            cr.Dense(5, 4, rng=rng, dtype=dtype),
            cr.LeakyReLU(0.2),
            cr.Dense(4, 2, rng=rng, dtype=dtype),
            cr.Softmax(),
        ]
    )


@pytest.fixture
def saved_net(tmp_path: Path, rng: np.random.Generator) -> tuple[cr.Sequential, Path]:
    net = _net(rng)
    path = tmp_path / "net.safetensors"
    cr.save(net, path)
    return net, path


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sequential_round_trip_is_exact(
    tmp_path: Path, rng: np.random.Generator, dtype: str
) -> None:
    net = _net(rng, dtype)
    path = tmp_path / "net.safetensors"
    cr.save(net, path)
    loaded = cr.load(path)
    assert isinstance(loaded, cr.Sequential)
    assert loaded.config() == net.config()
    assert loaded.dtype == dtype
    for name, value in net.params.items():
        np.testing.assert_array_equal(loaded.params[name], value)
    X = rng.standard_normal((7, 3)).astype(dtype)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_file_is_plain_safetensors_with_json_metadata(
    saved_net: tuple[cr.Sequential, Path],
) -> None:
    """The safetensors library alone reads the tensors and the metadata: no chainrule code."""
    net, path = saved_net
    tensors = load_file(path)
    assert set(tensors) == set(net.params)
    for name, value in net.params.items():
        np.testing.assert_array_equal(tensors[name], value)
    with safe_open(path, "np") as handle:
        stored = handle.metadata()
    info = json.loads(stored["chainrule"])
    assert info["format_version"] == modelfile.FORMAT_VERSION
    assert info["library_version"] == cr.__version__
    assert info["kind"] == "Sequential"
    assert [layer["type"] for layer in info["meta"]["architecture"]["layers"]] == [
        "Dense", "GELU", "Dropout", "Dense", "LeakyReLU", "Dense", "Softmax"
    ]  # fmt: skip
    assert len(stored["chainrule.sha256"]) == 64
    assert b"pickle" not in path.read_bytes() and not path.read_bytes().startswith(b"\x80")


def test_tabular_model_round_trip(tmp_path: Path) -> None:
    gen = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "x": gen.normal(10, 3, 60),
            "colour": gen.choice(["red", "green", "blue"], 60),
            "label": gen.choice([3, 7], 60),
        }
    )
    model, _ = TabularModel.fit(frame, "label", hidden=[4], epochs=3, seed=1)
    model.history.history["val_loss"][0] = float("nan")  # a diverged epoch must still be saved
    path = cr.save(model, tmp_path / "m.safetensors")
    raw = json.loads(safe_open(path, "np").metadata()["chainrule"])  # strict JSON: no NaN token
    assert raw["meta"]["history"]["history"]["val_loss"][0] == "NaN"
    loaded = cr.load(path)
    assert isinstance(loaded, TabularModel)
    assert loaded.classes == [3, 7] and loaded.task == "classification"
    assert np.isnan(loaded.history["val_loss"][0])
    assert loaded.history.history["loss"] == model.history.history["loss"]
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert list(loaded.predict(frame)) == list(model.predict(frame))


def test_save_refuses_objects_it_does_not_know(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Cannot save a dict"):
        cr.save({"w": 1}, tmp_path / "no.safetensors")


# -- damaged files --------------------------------------------------------------------------------
def _one_line_error(path: Path, match: str) -> str:
    with pytest.raises(ModelFileError, match=match) as info:
        cr.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize("keep", [0, 5, 40, -10, -1])
def test_truncated_file_is_refused(saved_net: tuple[cr.Sequential, Path], keep: int) -> None:
    _, path = saved_net
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    _one_line_error(path, "truncated|corrupted|not a chainrule model file")


@pytest.mark.parametrize("where", ["metadata", "tensor"])
def test_flipped_byte_is_refused(saved_net: tuple[cr.Sequential, Path], where: str) -> None:
    _, path = saved_net
    data = bytearray(path.read_bytes())
    if where == "metadata":
        i = data.index(b'\\"out_features\\": ') + len(b'\\"out_features\\": ')
        data[i] = ord("9") if data[i] != ord("9") else ord("8")  # a wider layer, say
    else:
        data[-3] ^= 0x01  # one bit of the last weight
    path.write_bytes(bytes(data))
    _one_line_error(path, "corrupted or was modified")


def test_newer_format_is_refused(
    saved_net: tuple[cr.Sequential, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    net, path = saved_net
    monkeypatch.setattr(modelfile, "FORMAT_VERSION", modelfile.FORMAT_VERSION + 1)
    cr.save(net, path)
    monkeypatch.undo()
    _one_line_error(path, "newer than this chainrule .* upgrade chainrule")


def test_tensors_must_fit_the_architecture(tmp_path: Path, rng: np.random.Generator) -> None:
    """A file whose checksum is right but whose tensors disagree with its architecture."""
    net = _net(rng)
    tensors, meta = persist.state_of(net)
    path = tmp_path / "bad.safetensors"
    wrong_shape = dict(tensors, **{"dense1.W": np.zeros((3, 6))})
    modelfile.write_state(path, wrong_shape, meta)
    _one_line_error(path, r"'dense1.W' of shape \(3, 6\).*needs \(3, 5\)")
    missing = {k: v for k, v in tensors.items() if k != "dense2.b"}
    modelfile.write_state(path, missing, meta)
    _one_line_error(path, "lacks tensor.*dense2.b")
    extra = dict(tensors, **{"dense9.W": np.zeros(2)})
    modelfile.write_state(path, extra, meta)
    _one_line_error(path, "unexpected tensor.*dense9.W")
    nonfinite = dict(tensors, **{"dense3.b": np.array([np.nan, 0.0])})
    modelfile.write_state(path, nonfinite, meta)
    _one_line_error(path, "non-finite")
    bad_arch = dict(meta, architecture={"layers": [{"type": "Conv2d"}]})
    modelfile.write_state(path, tensors, bad_arch)
    _one_line_error(path, "layer type 'Conv2d', which is not registered")
    modelfile.write_state(path, tensors, dict(meta, kind="Transformer"))
    _one_line_error(path, "'Transformer', which this chainrule does not know")


def test_files_that_are_not_models_are_refused(tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    _one_line_error(csv, "not a chainrule model file")
    eight_bytes = tmp_path / "garbage.safetensors"  # exactly a header length's worth of text
    eight_bytes.write_bytes(b"garbage\n")
    _one_line_error(eight_bytes, "not a chainrule model file")
    plain = tmp_path / "plain.safetensors"
    save_file({"w": np.zeros(3)}, plain)
    _one_line_error(plain, "not a chainrule model")
    with pytest.raises(ModelFileError, match="does not exist"):
        cr.load(tmp_path / "nowhere.safetensors")


def test_a_failed_save_leaves_the_old_file_and_no_debris(
    saved_net: tuple[cr.Sequential, Path], monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    net, path = saved_net
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        cr.save(_net(rng), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    with pytest.raises(OSError, match="does not exist; create it"):
        cr.save(net, path.parent / "no_such_folder" / "net.safetensors")


# -- preprocessing against scikit-learn -------------------------------------------------------------
def test_preprocessing_matches_scikit_learn() -> None:
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    gen = np.random.default_rng(5)
    train = pd.DataFrame(
        {
            "a": gen.normal(100, 20, 40),
            "b": gen.integers(0, 5, 40),
            "c": gen.choice(["x", "y", "z"], 40),
            "d": np.full(40, 2.5),  # constant: scaled by 1, as StandardScaler does
        }
    )
    test = train.iloc[:10].copy()
    test.loc[test.index[0], "c"] = "unseen"  # all zeros, as handle_unknown="ignore"
    pre = TablePreprocessor().fit(train, ["a", "b", "c", "d"])
    pre = TablePreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))  # through JSON
    scaler = StandardScaler().fit(train[["a", "b", "d"]])
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[["c"]])
    numbers = scaler.transform(test[["a", "b", "d"]])
    expected = np.column_stack([numbers[:, :2], encoder.transform(test[["c"]]), numbers[:, 2:]])
    np.testing.assert_allclose(pre.transform(test), expected, rtol=1e-12, atol=1e-12)
    assert pre.feature_names == ["a", "b", "c=x", "c=y", "c=z", "d"]


def test_imputation_uses_training_statistics() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, np.nan, 10.0], "c": ["p", None, "q", "p"]})
    with pytest.raises(
        ValueError, match=r"'a' .* 1 missing values \(first in data row 3\).*impute='median'"
    ):
        TablePreprocessor().fit(train, ["a", "c"])
    # a text column is refused in the same words, naming the level it would get
    with pytest.raises(
        ValueError, match=r"'c' .* 1 missing values \(first in data row 2\)"
    ) as text:
        TablePreprocessor().fit(train[["c"]], ["c"])
    assert "<missing>" in str(text.value) and "all zeros" not in str(text.value)
    pre = TablePreprocessor("median").fit(train, ["a", "c"])
    filled = np.array([1.0, 2.0, 2.0, 10.0])  # median of 1, 2, 10
    out = pre.transform(pd.DataFrame({"a": [np.nan, 4.0], "c": [None, "q"]}))
    np.testing.assert_allclose(out[:, 0], (np.array([2.0, 4.0]) - filled.mean()) / filled.std())
    np.testing.assert_array_equal(out[:, 1:], [[0, 0], [0, 1]])


def test_atomic_writes_get_the_usual_file_mode(tmp_path) -> None:
    """mkstemp makes files private; a saved model must get the mode a plain open() would."""
    import os

    from chainrule.io import atomic_write_bytes

    reference = tmp_path / "plain.bin"
    reference.write_bytes(b"x")
    written = atomic_write_bytes(tmp_path / "model.bin", b"x")
    assert os.stat(written).st_mode & 0o777 == os.stat(reference).st_mode & 0o777
