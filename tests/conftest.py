"""Shared fixtures: explicit random generators, never global state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_SEED = ROOT.parent / "shared" / "seeds" / "000_6856ac533598f176.txt"
SEED_FILE = ROOT / "tests" / "data" / "lecture_09_backpropagation.txt"
"""The lecture, as shipped in ../shared/seeds (a copy lives in the repo so a clone is self-contained)."""


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
