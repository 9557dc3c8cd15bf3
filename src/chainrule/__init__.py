"""chainrule: feedforward neural networks trained by hand-derived backpropagation.

Public names only; each concept lives in its own module.
"""

from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .callbacks import (
    Callback,
    EarlyStopping,
    GradientNorms,
    LearningRateScheduler,
    PrintEvery,
    ReduceLROnPlateau,
    TerminateOnNonFinite,
)
from .embedding import ColumnEmbedding, Embedding
from .explain import StepTrace, explain_step
from .gradcheck import GradcheckReport, check_layer, check_loss, check_network
from .io import load, save
from .layers import Dense, Dropout, Layer, Sequential
from .losses import (
    MAE,
    MSE,
    BinaryCrossEntropy,
    CrossEntropy,
    HalfSumSquaredError,
    Huber,
    Loss,
    PoissonNLL,
)
from .model import TabularModel
from .normalization import BatchNorm, LayerNorm
from .optimizers import GradientTransformation, adam, adamw, apply_updates, chain, rmsprop, sgd
from .progress import ProgressBar
from .training import History, Trainer, fit

__version__ = "0.1.0"

__all__ = [
    "ELU",
    "GELU",
    "MAE",
    "MSE",
    "BatchNorm",
    "BinaryCrossEntropy",
    "Callback",
    "ColumnEmbedding",
    "CrossEntropy",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "Embedding",
    "GradcheckReport",
    "GradientNorms",
    "GradientTransformation",
    "HalfSumSquaredError",
    "History",
    "Huber",
    "Identity",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "LearningRateScheduler",
    "Loss",
    "MLPClassifier",
    "MLPRegressor",
    "PoissonNLL",
    "PrintEvery",
    "ProgressBar",
    "ReLU",
    "ReduceLROnPlateau",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StepTrace",
    "TabularModel",
    "Tanh",
    "TerminateOnNonFinite",
    "Trainer",
    "__version__",
    "adam",
    "adamw",
    "apply_updates",
    "chain",
    "check_layer",
    "check_loss",
    "check_network",
    "explain_step",
    "fit",
    "load",
    "rmsprop",
    "save",
    "sgd",
]


def __getattr__(name: str) -> object:
    # The scikit-learn estimators import scikit-learn, an optional dependency: load on first use.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
