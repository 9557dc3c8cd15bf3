"""Training: the one driver (:class:`Trainer`), its callbacks, its history and progress."""

from chainrule.training.callbacks import Callback
from chainrule.training.history import History
from chainrule.training.protocol import TrainedModel, trained_model
from chainrule.training.trainer import Trainer, fit

__all__ = ["Callback", "History", "TrainedModel", "Trainer", "fit", "trained_model"]
