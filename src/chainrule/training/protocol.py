"""The one small protocol of every object that wraps a trained network.

A :class:`~chainrule.training.Trainer`, a :class:`~chainrule.tabular.TabularModel` and the
scikit-learn estimators each answer ``obj.trained_model()`` with the same five parts, so
plots, the report, ``info``, ``gradcheck``, ``explain`` and ONNX export never guess
attributes:

``network``
    the :class:`~chainrule.network.Sequential` that computes the raw output ``(N, K)``;
``loss``
    the training :class:`~chainrule.network.losses.Loss` (its ``link`` turns raw output into
    predictions: probabilities for classifiers);
``history``
    the :class:`~chainrule.training.History` of training;
``preprocessing``
    what turns the user's rows into the network's input (and the output back into the
    target's units), or ``None`` when the network takes the features as they are;
``classes``
    the class labels in output order, or ``None`` for regression and raw networks;

and three optional parts, so consumers need nothing else from the wrapper:

``predict_proba``
    a callable from the user's raw rows (a table for a tabular model, a matrix for an
    estimator) to class probabilities ``(N, K)`` in the order of ``classes``, or ``None``
    (regression, raw networks: use ``loss.link(network.predict(x))``);
``predict``
    a callable from the user's raw rows to predictions in the target's units ``(N,)`` (class
    labels, or values with any target scaling undone), or ``None`` (then a regression's
    prediction is ``loss.link(network.predict(x))`` and a classifier's the arg-max of
    ``predict_proba``);
``settings``
    how it was trained, as a flat ``dict`` for display (``learning_rate``, ``epochs``… for a
    tabular model; the constructor parameters of an estimator); empty when unknown.

A model that takes tables describes its raw input through :class:`Preprocessing`:
``input_columns`` (the raw columns), ``target`` (the label column), ``task``, and
``describe()`` (the encoding in words), and ``network_input`` / ``network_target``, which turn a raw table and its label column into the
network's ``x`` and the loss's ``y``.

It is a method returning a record, not five attributes, because scikit-learn owns the
estimators' attribute names: ``MLPRegressor(loss="squared_error")`` is a constructor
parameter, and fitted state must end in ``_``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from chainrule.network.containers import Sequential
from chainrule.network.losses import Loss
from chainrule.training.history import History


@runtime_checkable
class Preprocessing(Protocol):
    """Input encoding and output decoding of a model that takes tables, as ONNX too.

    Attributes
    ----------
    feature_names : list of str
        The network's input columns, in order (``"age"``, ``"color=red"``…).
    input_columns : list of str
        The raw table's columns the model reads, in order (``"age"``, ``"color"``…).
    target : str
        The label column it was trained on.
    task : str
        ``"classification"`` or ``"regression"``.
    """

    feature_names: list[str]
    input_columns: list[str]
    target: str
    task: str

    def network_input(self, frame: Any, source: str = "the data") -> Any:
        """The network's input ``(N, d)`` for a raw table."""
        ...

    def describe(self) -> str:
        """The encoding in words, one line per input column."""
        ...

    def network_target(self, column: Any, source: str = "the data") -> Any:
        """The loss's target for a raw label column: class indices ``(N,)`` or scaled values."""
        ...

    def raw_input(self, frame: Any, source: str = "the data") -> Any:
        """The exported graph's ``input`` matrix for a raw table."""
        ...

    def onnx_input(self, graph: Any, x: str) -> str:
        """ONNX nodes from the exported graph's ``input`` to the network's input."""
        ...

    def onnx_output(self, graph: Any, y: str) -> str:
        """ONNX nodes from the network's (linked) output to the target's units."""
        ...


@dataclass(frozen=True)
class TrainedModel:
    """The parts of a trained model (see the module docstring)."""

    network: Sequential
    loss: Loss | None = None
    history: History | None = None
    preprocessing: Preprocessing | None = None
    classes: list[Any] | None = None
    predict_proba: Callable[[Any], Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    predict: Callable[[Any], Any] | None = None
    optimizer: Any = None
    """The update rule it was trained with (a ``GradientTransformation``), when it keeps one."""
    optimizer_state: Any = None
    """That rule's state after training (Adam's moments…), when the model keeps it."""


@runtime_checkable
class WrapsNetwork(Protocol):
    """Anything with a :meth:`trained_model` view."""

    def trained_model(self) -> TrainedModel: ...


def trained_model(obj: Any) -> TrainedModel:
    """The :class:`TrainedModel` view of ``obj``; a bare network is its own raw view.

    Raises
    ------
    TypeError
        ``obj`` is neither a network nor something that wraps one.
    """
    if isinstance(obj, Sequential):
        return TrainedModel(obj)
    if isinstance(obj, WrapsNetwork):
        return obj.trained_model()
    raise TypeError(
        f"A {type(obj).__name__} holds no chainrule network; give a Sequential, a Trainer, a "
        "TabularModel or a fitted MLPClassifier / MLPRegressor."
    )
