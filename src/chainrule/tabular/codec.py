"""A table model's encoding as the trained-model protocol's ``preprocessing``, ONNX included."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.tabular.preprocessing import TablePreprocessor

if TYPE_CHECKING:
    import pandas as pd


class TableCodec:
    """A :class:`TabularModel`'s input encoding and output units, as ONNX nodes too.

    It is the model's ``preprocessing`` in the sense of :mod:`chainrule.training.protocol`:
    numbers are imputed and scaled, :math:`x' = (x - \\mu) / s` (then smoothly clipped after
    robust scaling), missing indicators and categories arrive as
    their indicator columns — or, for embedded columns, as one float column of codes
    (``1 … m`` the training categories, ``0`` unseen or missing; the graph's ``ColumnEmbedding``
    rounds them to integers and gathers its table's rows) — and a regression output is mapped
    back, :math:`\\hat y = \\mu_y + s_y \\hat t`.
    """

    def __init__(
        self,
        preprocessor: TablePreprocessor,
        task: str,
        target_mean: float,
        target_scale: float,
        *,
        target: str = "",
        encode_target: Callable[[pd.Series, str], np.ndarray] | None = None,
    ) -> None:
        self.preprocessor, self.task = preprocessor, task
        self.target_mean, self.target_scale = target_mean, target_scale
        self.feature_names = preprocessor.feature_names
        self.input_columns = list(preprocessor.input_columns)
        self.target = target
        self._encode_target = encode_target

    def network_input(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """The encoded matrix ``(N, d)`` the network takes (imputed, standardized, indicators)."""
        return self.preprocessor.transform(frame, source)

    def describe(self) -> str:
        """The fitted encoding in words (the preprocessor's description)."""
        return self.preprocessor.describe()

    def network_target(self, column: Any, source: str = "the data") -> np.ndarray:
        r"""Class indices ``(N,)``, or regression values scaled as in training, :math:`(y - \mu_y)/s_y`."""
        if self._encode_target is None:
            raise ValueError("This codec was built without its model's target encoding.")
        import pandas as pd

        t = np.asarray(self._encode_target(pd.Series(np.asarray(column).reshape(-1)), source))
        if self.task == "regression":
            t = (t.astype(np.float64) - self.target_mean) / self.target_scale
        return t

    def raw_input(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """The ONNX graph's ``input`` (float32) for a table: raw numbers, indicator columns.

        Numeric columns are the table's raw numbers (NaN where missing, which the graph
        imputes if the model was trained with imputation); categorical columns become their
        indicators, embedded columns their codes as floats (0 for a value unseen in training).
        """
        pre = self.preprocessor
        raw = pre.transform(frame, source)  # validates columns, types and missing values
        for j, name in pre.numeric_positions():  # indicators and codes stay as encoded
            raw[:, j] = pre._numbers(frame[name], name, source)
        return raw.astype(np.float32)

    def onnx_input(self, graph: Any, x: str) -> str:
        fill, mean, scale = self.preprocessor.affine()
        if any(
            c["kind"] == "numeric" and c["fill"] is not None for c in self.preprocessor.columns_
        ):
            # NaN in an imputed column becomes its training fill; elsewhere NaN stays NaN.
            isnan = graph.op("IsNaN", [x], "isnan")
            filled = np.where(np.isnan(fill), np.float32(np.nan), fill).astype(np.float32)
            x = graph.op("Where", [isnan, graph.const("fill", filled), x], "imputed")
        x = graph.op("Sub", [x, graph.const("mean", mean.astype(np.float32))], "centered")
        x = graph.op("Div", [x, graph.const("scale", scale.astype(np.float32))], "standardized")
        inverse = self.preprocessor.inverse_clip()
        if not inverse.any():
            return x
        # smooth clip x / sqrt(1 + (x/c)^2); columns without a clip have 1/c = 0: unchanged
        k = graph.op("Mul", [x, graph.const("inverse_clip", inverse.astype(np.float32))], "over_c")
        k = graph.op("Mul", [k, k], "over_c_squared")
        k = graph.op("Add", [k, graph.const("one", np.ones(1, np.float32))], "one_plus")
        return graph.op("Div", [x, graph.op("Sqrt", [k], "root")], "clipped")

    def onnx_output(self, graph: Any, y: str) -> str:
        if self.task != "regression":
            return y
        scale = np.array(self.target_scale, dtype=np.float32)
        mean = np.array(self.target_mean, dtype=np.float32)
        scaled = graph.op("Mul", [y, graph.const("target_scale", scale)], "scaled")
        return graph.op("Add", [scaled, graph.const("target_mean", mean)], "unscaled")
