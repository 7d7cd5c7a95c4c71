"""Shared fixtures: where the shared real data lives, and skipping (or failing, under CI) without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$CROSSGUARD_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("CROSSGUARD_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_shared(relative: str) -> Path:
    """Path of a shared data file; skip the test without it, but fail under CI."""
    path = shared_data_dir() / relative
    if not path.exists():
        message = f"shared data file {path} is missing (set CROSSGUARD_SHARED_DATA or put ../shared beside the repo)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared() -> object:
    return require_shared
