"""``chainrule explain MODEL`` explains the model's own update rule from the file's state.

Oracles: scikit-learn's own ``AdamOptimizer`` (for an estimator trained with Adam) and
``torch.optim.Adam`` (for a saved Trainer), each given the file's moments and step count and
the gradients of the explained step; and a real ``python -m chainrule explain`` process.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import warnings

import numpy as np
import torch
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer

import chainrule
from chainrule.commands.explain import model_update_rule
from chainrule.explain import explain_step
from chainrule.network.optimizers import AdamState, adam
from chainrule.training.protocol import trained_model
from chainrule.training.trainer import Trainer


def _adam_state(state):
    return next(part for part in state if isinstance(part, AdamState))


def _estimator(tmp_path):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = chainrule.MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    path = tmp_path / "est.safetensors"
    chainrule.save(est, path)
    return chainrule.load(path), path, X[:2], y[:2]


def test_an_estimators_adam_step_is_scikit_learns_from_the_files_moments(tmp_path):
    est, _, x, y = _estimator(tmp_path)
    trained = trained_model(est)
    optimizer, state, _ = model_update_rule(trained, None)
    assert state is not None
    saved = _adam_state(state)
    trace = explain_step(trained.network, x, y, trained.loss, optimizer, opt_state=state)
    names = list(trained.network.params)
    params = [np.array(trained.network.params[k]) for k in names]
    oracle = AdamOptimizer(params, learning_rate_init=est.learning_rate_init)
    oracle.t = saved.count
    oracle.ms = [np.array(saved.mu[k]) for k in names]
    oracle.vs = [np.array(saved.nu[k]) for k in names]
    oracle.update_params(params, [np.array(trace.gradients[k]) for k in names])
    for k, expected in zip(names, params, strict=True):
        np.testing.assert_allclose(trace.updated[k], expected, rtol=1e-12, atol=1e-15)
    assert trace.optimizer_description.startswith("Adam, continuing the model file's")
    assert f"step t = {saved.count + 1}" in trace.optimizer_description


def test_a_saved_trainers_adam_step_is_torchs(tmp_path):
    X, y = load_iris(return_X_y=True)
    net = chainrule.Sequential(
        [chainrule.Dense(4, 5, rng=0), chainrule.ReLU(), chainrule.Dense(5, 3, rng=1)]
    )
    trainer = Trainer(net, "cross_entropy", adam(0.01))
    trainer.fit(X, y, epochs=3, batch_size=50, rng=0, verbose=0)
    chainrule.save(trainer, tmp_path / "t.safetensors")
    loaded = chainrule.load(tmp_path / "t.safetensors")
    optimizer, state, _ = model_update_rule(trained_model(loaded), None)
    trace = explain_step(
        loaded.network, X[:4], y[:4], loaded.loss, optimizer, opt_state=copy.deepcopy(state)
    )
    saved = _adam_state(state)
    names = list(loaded.network.params)
    tensors = [torch.tensor(np.array(loaded.network.params[k])) for k in names]
    oracle = torch.optim.Adam(tensors, lr=0.01)
    for k, p in zip(names, tensors, strict=True):
        oracle.state[p] = {
            "step": torch.tensor(float(saved.count)),
            "exp_avg": torch.tensor(np.array(saved.mu[k])),
            "exp_avg_sq": torch.tensor(np.array(saved.nu[k])),
        }
        p.grad = torch.tensor(np.array(trace.gradients[k]))
    oracle.step()
    for k, p in zip(names, tensors, strict=True):
        np.testing.assert_allclose(trace.updated[k], p.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert "torch.optim.Adam" in trace.optimizer_description


def test_the_explain_command_shows_adams_moments(tmp_path):
    _, path, _, _ = _estimator(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", str(path), "--input", "5.1,3.5,1.4,0.2",
         "--target", "0"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Adam, continuing the model file's optimizer state" in run.stdout
    assert "m_W1" in run.stdout and "v_W1" in run.stdout
    assert "gradient descent" not in run.stdout
