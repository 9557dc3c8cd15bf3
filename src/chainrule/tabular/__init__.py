"""Tables: reading them, encoding them, and the model ``chainrule train`` fits on them."""

from chainrule.tabular.data import DataError, read_table
from chainrule.tabular.model import TabularModel
from chainrule.tabular.preprocessing import TablePreprocessor

__all__ = ["DataError", "TablePreprocessor", "TabularModel", "read_table"]
