"""chainrule: feedforward neural networks trained by hand-derived backpropagation.

Public names only; each concept lives in its own module.
"""

from chainrule._version import __version__
from chainrule.explain import StepTrace, explain_step
from chainrule.extras import require
from chainrule.network.activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.network.containers import Sequential
from chainrule.network.embedding import ColumnEmbedding, Embedding
from chainrule.network.gradcheck import GradcheckReport, check_layer, check_loss, check_network
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import (
    MAE,
    MSE,
    BinaryCrossEntropy,
    CrossEntropy,
    HalfSquaredError,
    HalfSumSquaredError,
    Huber,
    Loss,
    PoissonNLL,
)
from chainrule.network.normalization import BatchNorm, LayerNorm
from chainrule.network.optimizers import (
    GradientTransformation,
    adam,
    adamw,
    apply_updates,
    chain,
    rmsprop,
    sgd,
)
from chainrule.network.residual import Residual
from chainrule.onnx_export import export_onnx
from chainrule.persist import load, save
from chainrule.tabular.model import TabularModel
from chainrule.training.callbacks import (
    Callback,
    EarlyStopping,
    GradientNorms,
    LearningRateScheduler,
    PrintEvery,
    ReduceLROnPlateau,
    TerminateOnNonFinite,
)
from chainrule.training.checkpoint import CSVLogger, ModelCheckpoint
from chainrule.training.history import History
from chainrule.training.progress import ProgressBar
from chainrule.training.protocol import TrainedModel, trained_model
from chainrule.training.solvers import lbfgs
from chainrule.training.trainer import Trainer, fit

__all__ = [
    "ELU",
    "GELU",
    "MAE",
    "MSE",
    "BatchNorm",
    "BinaryCrossEntropy",
    "CSVLogger",
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
    "HalfSquaredError",
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
    "ModelCheckpoint",
    "PoissonNLL",
    "PrintEvery",
    "ProgressBar",
    "ReLU",
    "ReduceLROnPlateau",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StepTrace",
    "TabularClassifier",
    "TabularModel",
    "TabularRegressor",
    "Tanh",
    "TerminateOnNonFinite",
    "TrainedModel",
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
    "export_onnx",
    "fit",
    "lbfgs",
    "load",
    "rmsprop",
    "save",
    "sgd",
    "trained_model",
]


def __getattr__(name: str) -> object:
    # The scikit-learn estimators import scikit-learn, an optional dependency: load on first use.
    if name in ("MLPClassifier", "MLPRegressor"):
        require("sklearn", "scipy", purpose=f"chainrule.{name}")
        from chainrule import estimators

        return getattr(estimators, name)
    if name in ("TabularClassifier", "TabularRegressor"):
        require("sklearn", "scipy", "pandas", purpose=f"chainrule.{name}")
        from chainrule.tabular import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
