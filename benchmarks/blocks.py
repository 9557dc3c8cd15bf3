"""Do the building blocks help? Each one on and off, on data bundled with scikit-learn or generated.

``python -m benchmarks.blocks [--seeds 3]`` prints a Markdown table: for every case, test
accuracy (mean over seeds) and fit time (mean), with the runs interleaved (seed by seed, every
variant of a case in turn) so drift on a shared machine hits all variants alike.

* **digits** (``load_digits``, standardized, 75/25 split): ``MLPClassifier((64, 64),
  max_iter=30)`` plain, then with ``normalization="batch"`` / ``"layer"``, ``l1=1e-4``,
  ``clip_grad_norm=1``, ``warmup_epochs=5``, ``label_smoothing=0.1``.
* **deep moons** (``make_moons(1000, noise=0.2)``): 12 ``Dense`` layers of width 16 with sigmoids
  between, SGD with momentum, 30 epochs — plain, with BatchNorm after each ``Dense``, and with
  the 11 inner ``sigmoid → Dense`` blocks wrapped in ``Residual``.
* **200-level categorical** (20-feature ``make_classification`` plus a 200-level text column
  whose level shifts the label, 3,000 rows): ``TabularModel`` with the column one-hot (200
  inputs) against ``embed=["store"]`` (one code column, a learned 50-wide table).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits, make_classification, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import chainrule as cr
from chainrule.tabular.model import TabularModel

Run = Callable[[int], float]  # seed -> test accuracy


def _digits(**extra: object) -> Run:
    X, y = load_digits(return_X_y=True)

    def run(seed: int) -> float:
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=seed)
        scaler = StandardScaler().fit(Xtr)
        clf = cr.MLPClassifier((64, 64), max_iter=30, random_state=seed, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(scaler.transform(Xtr), ytr)
        return float(clf.score(scaler.transform(Xte), yte))

    return run


def _moons(kind: str) -> Run:
    def run(seed: int) -> float:
        X, y = make_moons(1000, noise=0.2, random_state=seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=seed)
        gen = np.random.default_rng(seed)
        layers: list[cr.Layer] = [cr.Dense(2, 16, rng=gen)]
        for _ in range(11):
            inner: list[cr.Layer] = [cr.Sigmoid(), cr.Dense(16, 16, rng=gen)]
            if kind == "batchnorm":
                inner.append(cr.BatchNorm(16))
            block = cr.Sequential(inner)
            layers.append(cr.Residual(block) if kind == "residual" else block)
        layers += [cr.Sigmoid(), cr.Dense(16, 2, rng=gen)]
        trainer = cr.Trainer(cr.Sequential(layers), cr.CrossEntropy(), cr.sgd(0.1, momentum=0.9))
        trainer.fit(Xtr, ytr, epochs=30, batch_size=64, rng=seed)
        return float(np.mean(trainer.predict(Xte).argmax(1) == yte))

    return run


def _shops(n: int, seed: int) -> pd.DataFrame:
    X, _ = make_classification(n, 20, n_informative=8, random_state=seed)
    gen = np.random.default_rng(seed)
    store = gen.integers(0, 200, n)
    effect = np.random.default_rng(0).normal(0, 2, 200)  # the same stores in every split
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(20)])
    frame["store"] = [f"s{k:03d}" for k in store]
    frame["label"] = ((X[:, 0] + effect[store] + gen.normal(0, 0.5, n)) > 0).astype(int)
    return frame


def _categorical(embed: list[str] | None) -> Run:
    def run(seed: int) -> float:
        train, test = _shops(3000, seed), _shops(1000, seed + 100)
        model, _ = TabularModel.fit(
            train, "label", embed=embed, hidden=[32], epochs=20, validation_split=0.0, seed=seed
        )
        return float(np.mean(model.predict(test) == test["label"].to_numpy()))

    return run


CASES: list[tuple[str, str, Run]] = [
    ("digits", "plain MLP (64, 64)", _digits()),
    ("digits", "+ BatchNorm", _digits(normalization="batch")),
    ("digits", "+ LayerNorm", _digits(normalization="layer")),
    ("digits", "+ L1 1e-4", _digits(l1=1e-4)),
    ("digits", "+ clip_grad_norm 1", _digits(clip_grad_norm=1.0)),
    ("digits", "+ warm-up 5 epochs", _digits(warmup_epochs=5)),
    ("digits", "+ label smoothing 0.1", _digits(label_smoothing=0.1)),
    ("deep moons (12 sigmoid layers)", "plain", _moons("plain")),
    ("deep moons (12 sigmoid layers)", "+ BatchNorm", _moons("batchnorm")),
    ("deep moons (12 sigmoid layers)", "+ Residual", _moons("residual")),
    ("200-level categorical", "one-hot (220 inputs)", _categorical(None)),
    ("200-level categorical", "embedding (21 inputs)", _categorical(["store"])),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    scores: dict[int, list[float]] = {i: [] for i in range(len(CASES))}
    times: dict[int, list[float]] = {i: [] for i in range(len(CASES))}
    for seed in range(args.seeds):  # interleaved: every variant once per seed
        for i, (_, _, run) in enumerate(CASES):
            started = time.perf_counter()
            scores[i].append(run(seed))
            times[i].append(time.perf_counter() - started)
    print(f"| data | variant | test accuracy (mean of {args.seeds}) | fit time |")
    print("|---|---|---|---|")
    for i, (data, variant, _) in enumerate(CASES):
        print(
            f"| {data} | {variant} | {np.mean(scores[i]):.4f} ± {np.std(scores[i]):.4f} "
            f"| {np.mean(times[i]):.2f} s |"
        )


if __name__ == "__main__":
    main()
