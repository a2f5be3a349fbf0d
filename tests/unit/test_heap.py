"""pgcdc.heap: the allocator settings are applied in a glibc process, and never over the user's own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pgcdc.heap import USER_VARIABLES

APPLY = "from pgcdc.heap import keep_freed_memory; print(keep_freed_memory())"


def applied(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in USER_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", APPLY], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_glibc_takes_the_settings() -> None:
    assert applied({}) == "True"


@pytest.mark.parametrize("variable", USER_VARIABLES)
def test_a_users_own_malloc_variable_leaves_the_allocator_alone(variable: str) -> None:
    assert applied({variable: "1048576"}) == "False"
