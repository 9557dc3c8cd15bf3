"""Optional dependencies: which extra brings each one, and a check every entry point makes first.

chainrule's base install is NumPy and array-api-compat: enough to build, train and explain
networks. Everything else is an *extra* (``pip install 'chainrule[io]'``)::

    io       safetensors              saving and loading model files
    data     pandas, pyarrow          reading CSV / Parquet tables (the CLI, TabularModel)
    onnx     onnx                     ONNX export
    plot     matplotlib               plots and the HTML report
    sklearn  scikit-learn, scipy      the MLPClassifier / MLPRegressor estimators
    skl2onnx skl2onnx                 whole scikit-learn pipelines to ONNX
    dask     dask, distributed        training on a Dask cluster (chainrule.dask, train --dask)

A command or library function that needs one calls :func:`require` before doing any work, so
``chainrule train`` without safetensors stops before the first epoch, not after the last, and
the message names the one ``pip install`` line that fixes it. This module imports nothing from
chainrule, so any module, however low, can use it.
"""

from __future__ import annotations

import importlib.util
import sys

EXTRAS: dict[str, tuple[str, str]] = {
    "safetensors": ("io", "safetensors"),
    "pandas": ("data", "pandas"),
    "pyarrow": ("data", "pyarrow"),
    "onnx": ("onnx", "onnx"),
    "matplotlib": ("plot", "matplotlib"),
    "sklearn": ("sklearn", "scikit-learn"),
    "scipy": ("sklearn", "scipy"),
    "skl2onnx": ("skl2onnx", "skl2onnx"),
    "starlette": ("playground", "starlette"),
    "uvicorn": ("playground", "uvicorn"),
    "dask": ("dask", "dask[array,dataframe]"),
    "distributed": ("dask", "distributed"),
}
"""Import name → (the extra that installs it, its name on PyPI)."""


class MissingExtraError(ImportError):
    """An optional package is not installed; the message is one line naming the extra."""


def available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it.

    A ``None`` entry in ``sys.modules`` (how Python marks a module as blocked, and how the
    tests simulate an install without it) counts as missing.
    """
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-installed package
        return False


def require(*modules: str, purpose: str) -> None:
    """Raise :class:`MissingExtraError` unless every module in ``modules`` is installed.

    Parameters
    ----------
    modules : str
        Import names, keys of :data:`EXTRAS` (``"pandas"``, ``"safetensors"``…).
    purpose : str
        What needs them, for the message (``"chainrule predict"``, ``"saving a model"``).

    Raises
    ------
    MissingExtraError
        ``"chainrule predict needs pandas (not installed); install it with:
        pip install 'chainrule[data]'"`` — every missing package and every extra in one line.
    """
    missing = [m for m in dict.fromkeys(modules) if not available(m)]
    if not missing:
        return
    extras = sorted({EXTRAS[m][0] for m in missing})
    packages = ", ".join(EXTRAS[m][1] for m in missing)
    verb = "is" if len(missing) == 1 else "are"
    raise MissingExtraError(
        f"{purpose} needs {packages}, which {verb} not installed; install with: "
        f"pip install 'chainrule[{','.join(extras)}]'"
    )
