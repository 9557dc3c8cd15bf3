"""Training: the one driver (:class:`Trainer`), its solvers, callbacks, history and progress."""

from chainrule.training.callbacks import Callback, Monitor
from chainrule.training.history import History
from chainrule.training.protocol import TrainedModel, trained_model
from chainrule.training.solvers import LBFGS, MiniBatch, lbfgs
from chainrule.training.trainer import Trainer, fit

__all__ = [
    "LBFGS",
    "Callback",
    "History",
    "MiniBatch",
    "Monitor",
    "TrainedModel",
    "Trainer",
    "fit",
    "lbfgs",
    "trained_model",
]
