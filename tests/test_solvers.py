"""The Trainer's L-BFGS solver against SciPy run directly on an independently written objective.

The oracle is a 3-4-1 tanh network's mean squared error and its gradient written here in plain
NumPy (checked against central finite differences), minimised by
``scipy.optimize.minimize(method="L-BFGS-B")``: the Trainer must reach the same weights, log
the same loss after every iteration and report why it stopped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import chainrule as cr
from chainrule.training.solvers import LBFGS, ParamVector

SHAPES = {"dense1.W": (3, 4), "dense1.b": (4,), "dense2.W": (4, 1), "dense2.b": (1,)}


def unpack(theta: np.ndarray) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for name, shape in SHAPES.items():
        size = int(np.prod(shape))
        out[name] = theta[start : start + size].reshape(shape)
        start += size
    return out


def objective(X: np.ndarray, y: np.ndarray):
    """J(θ) = mean((tanh(X W₁ + b₁) W₂ + b₂ − y)²) and ∇J, by hand."""

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = unpack(theta)
        h = np.tanh(X @ p["dense1.W"] + p["dense1.b"])
        r = h @ p["dense2.W"] + p["dense2.b"] - y
        n = X.shape[0]
        d_out = 2.0 * r / n  # ∂J/∂ŷ
        d_h = (d_out @ p["dense2.W"].T) * (1.0 - h**2)
        grads = [X.T @ d_h, d_h.sum(0), h.T @ d_out, d_out.sum(0)]
        return float(np.mean(r**2)), np.concatenate([g.ravel() for g in grads])

    return value_and_grad


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2] * X[:, 2:3]).reshape(-1, 1)
    return X, y


def network(seed: int = 0) -> cr.Sequential:
    gen = np.random.default_rng(seed)
    return cr.Sequential([cr.Dense(3, 4, rng=gen), cr.Tanh(), cr.Dense(4, 1, rng=gen)])


def direct(X, y, theta0, maxiter, gtol=1e-5):
    """SciPy on the hand-written objective, recording J after every iteration."""
    losses: list[float] = []

    def record(intermediate_result):
        losses.append(float(intermediate_result.fun))

    result = scipy.optimize.minimize(
        objective(X, y),
        theta0,
        method="L-BFGS-B",
        jac=True,
        callback=record,
        options={"maxiter": maxiter, "gtol": gtol, "maxfun": 15000},
    )
    return result, losses


def test_the_oracle_objective_matches_finite_differences(problem) -> None:
    X, y = problem
    theta = ParamVector(network()).get()
    fn = objective(X, y)
    _, grad = fn(theta)
    eps = 1e-6
    numeric = np.array(
        [(fn(theta + eps * e)[0] - fn(theta - eps * e)[0]) / (2 * eps) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("epochs, tol, reason", [(15, 1e-5, None), (500, 1e-2, "converged")])
def test_trainer_lbfgs_reaches_scipys_weights(problem, epochs, tol, reason) -> None:
    X, y = problem
    net = network()
    theta0 = ParamVector(net).get()
    result, losses = direct(X, y, theta0, epochs, tol)
    history = cr.Trainer(net, cr.MSE(), cr.lbfgs(tol=tol)).fit(X, y, epochs=epochs)

    assert (result.status == 0) == (reason == "converged")
    assert history.stop_reason == reason
    assert len(history) == result.nit == len(losses)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-9, atol=1e-12)
    for name, value in unpack(result.x).items():
        np.testing.assert_allclose(net.params[name], value, rtol=1e-7, atol=1e-9)
    assert history.best_epoch == int(np.argmin(losses))


def test_an_objective_from_elsewhere_is_used_as_given(problem) -> None:
    """What a distributed engine plugs in: the same function gives the same numbers exactly."""
    X, y = problem
    net = network(1)
    result, losses = direct(X, y, ParamVector(net).get(), 25)
    solver = cr.lbfgs(objective=objective(X, y))
    history = cr.Trainer(net, cr.MSE(), solver).fit(X, y, epochs=25)
    assert history["loss"] == losses and solver.result.nit == result.nit
    for name, value in unpack(result.x).items():
        np.testing.assert_array_equal(net.params[name], value)


def test_callbacks_metrics_and_stopping_per_iteration(problem) -> None:
    X, y = problem
    seen: list[float] = []

    class StopAtFour(cr.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            # the weights the callback sees are this iteration's: the loss recomputes from them
            seen.append(trainer.evaluate(X, y)["loss"] - logs["loss"])
            if epoch == 3:
                trainer.stop_reason = "enough"

    trainer = cr.Trainer(network(), "mse", "lbfgs", metrics=["mae"], callbacks=[StopAtFour()])
    history = trainer.fit(X, y, epochs=100, validation_data=(X[:10], y[:10]))
    assert history.stop_reason == "enough" and len(history) == 4
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    np.testing.assert_allclose(seen, 0.0, atol=1e-12)
    assert isinstance(trainer.solver, LBFGS) and trainer.optimizer is None
    with pytest.raises(ValueError, match="full-batch"):
        trainer.fit(X, y, epochs=3, batch_size=8)


def test_estimator_lbfgs_to_convergence_equals_sklearn() -> None:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weights = np.random.default_rng(0).integers(1, 4, len(y)) * 1.0
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=3000, alpha=1e-2, tol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = cr.MLPClassifier(random_state=np.random.RandomState(0), **params)
        ours.fit(X, y, sample_weight=weights)
        theirs = sk_nn.MLPClassifier(random_state=np.random.RandomState(0), **params)
        theirs.fit(X, y, sample_weight=weights)
    assert ours.n_iter_ == theirs.n_iter_ < 3000
    assert ours.history_.stop_reason == "converged" and len(ours.loss_curve_) == ours.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-7, atol=1e-9)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_evaluation_budget_is_a_stop_reason(problem) -> None:
    X, y = problem
    solver = cr.lbfgs(max_fun=5)
    history = cr.Trainer(network(), cr.MSE(), solver).fit(X, y, epochs=100)
    assert solver.result.status == 1 and solver.result.nfev > 5 and len(history) < 100
    assert history.stop_reason == "max_fun"
