"""The exported Python: the few lines of chainrule that rebuild and retrain the page's network.

The snippet draws the same data, builds the same layers from the same seeds and trains with
the same Trainer arguments, so running it for the page's number of epochs gives the page's
weights (the test suite checks this).
"""

from __future__ import annotations

from chainrule.playground.config import FEATURES, UPLOAD, Config
from chainrule.playground.datasource import Points

_ACTIVATION_CLASSES = {
    "tanh": "Tanh",
    "relu": "ReLU",
    "sigmoid": "Sigmoid",
    "identity": "Identity",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "gelu": "GELU",
}


def _data_lines(config: Config, points: Points, table_name: str) -> list[str]:
    """Lines that leave ``x1``, ``x2``, ``extra``, ``y``, ``train`` and ``test`` defined."""
    if config.dataset != UPLOAD:
        return [
            "from chainrule.playground.datasets import make_dataset, split",
            "",
            f"X, y = make_dataset({config.dataset!r}, noise={config.noise!r}, seed={config.seed})",
            f"train, test = split(len(X), {config.train_fraction!r}, seed={config.seed})",
            "x1, x2, extra = X[:, 0], X[:, 1], X[:, 2:]",
        ]
    columns = [*config.axes, *[c for c in config.columns if c not in config.axes]]
    order = [config.columns.index(c) for c in columns]
    mean = [points.scaling["mean"][i] for i in order]
    scale = [points.scaling["scale"][i] for i in order]
    lines = [
        "import pandas as pd",
        "from chainrule.playground.datasets import split",
        "",
        f"frame = pd.read_csv({table_name!r}).dropna(subset={[config.target, *columns]!r})",
        f"raw = frame[{columns!r}].to_numpy(float)",
        f"X = (raw - np.array({mean!r})) / np.array({scale!r})  # standardized, as on the page",
        "x1, x2, extra = X[:, 0], X[:, 1], X[:, 2:]",
    ]
    if config.problem == "classification":
        lines.append(f"classes = {points.classes!r}")
        lines.append(f"y = np.array([classes.index(str(v)) for v in frame[{config.target!r}]])")
    else:
        t_mean, t_scale = points.scaling["target_mean"], points.scaling["target_scale"]
        lines.append(f"y = (frame[{config.target!r}].to_numpy(float) - {t_mean!r}) / {t_scale!r}")
    lines.append(f"train, test = split(len(y), {config.train_fraction!r}, seed={config.seed})")
    return lines


def _network_lines(config: Config, n_out: int) -> list[str]:
    act = _ACTIVATION_CLASSES[config.activation]
    lines = [
        f"init = np.random.default_rng({config.init})  # the initial weights",
        f"train_gen = np.random.default_rng([{config.init}, 1])  # batch order and dropout masks",
        "net = cr.Sequential([",
    ]
    width = "F.shape[1]"
    for units in config.hidden:
        drop = f" cr.Dropout({config.dropout!r}, rng=train_gen)," if config.dropout else ""
        lines.append(f"    cr.Dense({width}, {units}, rng=init), cr.{act}(),{drop}")
        width = str(units)
    out = "one logit per class" if config.problem == "classification" else "the value"
    lines += [f"    cr.Dense({width}, {n_out}, rng=init),  # {out}", "])"]
    return lines


def python_snippet(config: Config, points: Points, epochs: int, table_name: str) -> str:
    """Runnable chainrule code that rebuilds the network and trains it for ``epochs`` epochs.

    Parameters
    ----------
    config : Config
        The page's set-up.
    points : Points
        The session's data (for a table's scaling and class names).
    epochs : int
        Epochs trained on the page so far.
    table_name : str
        The uploaded file's name, read by the snippet.
    """
    features = " ".join(f"{FEATURES[f][1]}," for f in config.features)
    classification = config.problem == "classification"
    n_out = len(points.classes) if classification else 1
    loss = "cr.CrossEntropy()" if classification else "cr.MSE()"
    optimizer = f"cr.{config.optimizer}({config.learning_rate!r}"
    optimizer += f", weight_decay={config.l2!r})" if config.l2 else ")"
    if config.l1:  # λ₁·sign(W) on the weights, in front of the rule: as the page trains
        optimizer = f"cr.chain(weights_only(add_l1({config.l1!r})), {optimizer})"
    metrics = '["accuracy"]' if classification else "[]"
    lines = [
        '"""The chainrule playground\'s network, rebuilt and retrained (exported from the page)."""',
        "",
        "import numpy as np",
        "",
        "import chainrule as cr",
        *(
            ["from chainrule.network.regularization import add_l1, weights_only"]
            if config.l1
            else []
        ),
        *_data_lines(config, points, table_name),
    ]
    lines += [
        "",
        f"F = np.column_stack([{features} extra])  # the input features",
        *_network_lines(config, n_out),
        f"trainer = cr.Trainer(net, {loss}, {optimizer}, metrics={metrics})",
        "history = trainer.fit(",
        f"    F[train], y[train], epochs={epochs}, batch_size={config.batch_size}, rng=train_gen,",
        "    validation_data=(F[test], y[test]),",
        ")",
        'print("test loss", trainer.evaluate(F[test], y[test])["loss"])',
        'cr.save(net, "playground.safetensors")',
        "",
    ]
    return "\n".join(lines)
