"""Reading tables for the command line: CSV, TSV or Parquet into a pandas ``DataFrame``.

Every way reading can fail — no such file, a folder, an unknown extension, an empty or
malformed file, a missing column — ends in a :class:`DataError` whose message is one sentence
saying what is wrong and how to fix it.
"""

from __future__ import annotations

import csv
import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from chainrule.extras import require

if TYPE_CHECKING:
    import pandas as pd

READERS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
"""File extensions understood by :func:`read_table`, and the format each one means."""

DELIMITERS = ",;\t|"
"""The field separators :func:`detect_delimiter` chooses among, in order of preference."""

SNIFF_BYTES = 64 * 1024
"""How much of a text file :func:`detect_delimiter` reads to choose its separator."""


class DataError(ValueError):
    """A data file or column the user named cannot be used; the message says how to fix it.

    ``problems`` holds each problem's own sentence when one error reports several (a table
    with missing values in one column and text in a numeric target, say).
    """

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


def raise_problems(problems: Sequence[str]) -> None:
    """Raise one :class:`DataError` listing every problem found (nothing when there is none)."""
    if not problems:
        return
    if len(problems) == 1:
        raise DataError(problems[0])
    listed = " ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
    raise DataError(f"The table has {len(problems)} problems: {listed}", problems)


def problems_of(error: DataError) -> list[str]:
    """The sentences of ``error``: its problems, for merging into a longer list."""
    return list(getattr(error, "problems", None) or [str(error)])


def _pandas():
    require("pandas", purpose="Reading tables")
    import pandas

    return pandas


def detect_delimiter(sample: str) -> str:
    """The field separator of a delimited text whose first lines are ``sample``.

    Each of ``, ; tab |`` is tried with :mod:`csv`'s reader (quotes respected) on the complete
    lines of ``sample``; a separator that splits every line into the same number of fields,
    more than one, is a candidate, and the one giving the most fields wins (ties: the earlier
    in :data:`DELIMITERS`). Without a candidate, :class:`csv.Sniffer` decides, and failing
    that the comma.
    """
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut off by the sample's end
    lines = [line for line in lines if line.strip()][:200]
    best, most = None, 1
    for sep in DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(counts) == 1 and (n := counts.pop()) > most:
            best, most = sep, n
    if best is not None:
        return best
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_table(
    path: str | os.PathLike[str], na_values: Sequence[str] = (), sep: str | None = None
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.txt``), TSV (``.tsv``) or Parquet (``.parquet``, ``.pq``) file.

    Parameters
    ----------
    path : str or path
        The file. Its extension picks the reader.
    na_values : sequence of str
        Extra tokens that mean "missing" (such as ``"?"``), besides pandas' own (empty, NA,
        NaN, null…). In a Parquet file they are matched in text columns.
    sep : str, optional
        The field separator of a text file; by default a ``.tsv`` file's is the tab and a
        ``.csv`` or ``.txt`` file's is detected (:func:`detect_delimiter`: ``, ; tab |``).

    Returns
    -------
    DataFrame, shape (N, columns)
        The table, with at least one row.

    Raises
    ------
    DataError
        The file is missing, is a folder, has an unknown extension, is empty or cannot be
        parsed.
    """
    pd = _pandas()
    p = Path(path)
    if not p.exists():
        raise DataError(f"Data file '{p}' does not exist; check the path.")
    if p.is_dir():
        raise DataError(f"'{p}' is a folder, not a data file; name a .csv or .parquet file.")
    kind = READERS.get(p.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(READERS))
        raise DataError(
            f"Cannot tell the format of '{p}' from its extension '{p.suffix}'; use one of {known}."
        )
    try:
        if kind == "parquet":
            require("pyarrow", purpose="Reading Parquet files")
            frame = _decimals_as_numbers(pd.read_parquet(p))
            if na_values:
                frame = frame.replace(list(na_values), None)
        else:
            if sep is None:
                sep = "\t" if kind == "tsv" else _sniff(p)
            _refuse_duplicate_names(pd.read_csv(p, sep=sep, nrows=1, header=None, dtype=str), p)
            frame = pd.read_csv(p, sep=sep, na_values=list(na_values) or None)
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file '{p}' is empty; it needs a header row and data rows.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Cannot parse '{p}' as {kind.upper()} ({detail}); fix the file.") from None
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        detail = " ".join(str(exc).split())[:200]
        raise DataError(f"Cannot read '{p}' as {kind} ({detail}); check the file.") from None
    if frame.shape[0] == 0:
        raise DataError(f"Data file '{p}' has a header but no data rows.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _refuse_duplicate_names(header: pd.DataFrame, path: Path) -> None:
    """Raise :class:`DataError` when the header (read raw) names a column twice.

    pandas would rename the second ``a`` to ``a.1``, silently, and a model trained on it would
    ask for a column no other file has.
    """
    names = [str(n).strip() for n in header.iloc[0]] if len(header) else []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(
                f"The header of '{path}' names column {name!r} twice; give every column its "
                "own name."
            )
        seen.add(name)


def _decimals_as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet ``decimal128`` columns (read as Python ``Decimal`` objects) as float64 numbers."""
    import decimal

    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            present = column.dropna()
            if len(present) and all(isinstance(v, decimal.Decimal) for v in present.iloc[:100]):
                frame[name] = column.astype("float64")
    return frame


def _sniff(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as stream:
        return detect_delimiter(stream.read(SNIFF_BYTES))


def _column_list(columns: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def require_columns(frame: pd.DataFrame, names: Sequence[str], source: str, why: str) -> None:
    """Raise :class:`DataError` naming the first columns of ``names`` missing from ``frame``.

    Parameters
    ----------
    frame : DataFrame
        The table read from ``source``.
    names : sequence of str
        Columns that must be present.
    source : str
        The file name, for the message.
    why : str
        What the columns are needed for, e.g. ``"the model was trained on"``.
    """
    missing = [n for n in names if n not in frame.columns]
    if missing:
        hints = close_names(missing, [str(c) for c in frame.columns])
        raise DataError(
            f"'{source}' has no column {_column_list(missing)} ({why}); "
            + (f"did you mean {hints}? " if hints else "")
            + f"its columns are {_column_list(list(frame.columns))}."
        )


def close_names(missing: Sequence[str], columns: Sequence[str]) -> str:
    """The near misses among ``columns`` for ``missing`` names, as ``'target'`` or ``'a', 'b'``.

    A column equal but for case wins; otherwise ``difflib``'s closest match (ratio ≥ 0.6).
    """
    found = []
    for name in missing:
        same_case = [c for c in columns if c.lower() == str(name).lower()]
        close = same_case or difflib.get_close_matches(str(name), columns, n=1)
        if close and close[0] not in found:
            found.append(close[0])
    return ", ".join(repr(c) for c in found)
