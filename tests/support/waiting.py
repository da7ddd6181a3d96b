"""Waiting on a condition in tests that drive real processes: poll, never sleep and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    what: str,
    check: Callable[[], T],
    timeout: float = 10.0,
    step: float = 0.02,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` every ``step`` seconds until it returns something truthy and return that;
    fail the test after ``timeout`` seconds. ``retry_on``: exceptions that count as "not yet"
    (a node still starting or failing over); any other exception fails the test at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except retry_on:
            value = None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(step)
