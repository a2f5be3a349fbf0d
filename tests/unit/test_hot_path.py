"""The per-row modules run compiled where they are built, and both variants write the same bytes."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgcdc import hot_path

ROOT = Path(__file__).resolve().parents[2]
PURE = os.environ.get(hot_path.PURE_PYTHON_ENV, "") not in ("", "0")


def _unbuilt_reason() -> str:
    return (
        f"not compiled here: {', '.join(hot_path.unbuilt())} (scripts/bootstrap builds them; or "
        "`python setup.py build_ext --inplace`)"
    )


def test_every_listed_module_is_a_python_source() -> None:
    for name in hot_path.MODULES:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


def test_the_built_variant_is_the_one_imported() -> None:
    if PURE:
        assert hot_path.variant() == "python"
        return
    if hot_path.unbuilt():
        pytest.skip(_unbuilt_reason())
    assert hot_path.variant() == "compiled"
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert all(str(sys.modules[name].__file__).endswith(suffixes) for name in hot_path.MODULES)


def _digest(*, pure: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != hot_path.PURE_PYTHON_ENV}
    if pure:
        env[hot_path.PURE_PYTHON_ENV] = "1"
    env["PYTHONPATH"] = str(ROOT)
    # 12,000 rows: two transactions, so a table's row template is made, used and replaced.
    done = subprocess.run(
        [sys.executable, "-m", "bench.hotpath", "--digest", "--events", "12000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    variant, _, rest = done.stdout.strip().partition(": ")
    assert variant == ("python" if pure else "compiled"), done.stdout
    return rest


def test_compiled_and_python_write_the_same_bytes() -> None:
    if PURE or hot_path.unbuilt():
        pytest.skip(_unbuilt_reason() if not PURE else "PGCDC_PURE_PYTHON is set")
    assert _digest(pure=False) == _digest(pure=True)


def test_an_extension_older_than_its_source_or_pxd_is_stale(tmp_path: Path) -> None:
    package = tmp_path / "pgcdc" / "decode"
    package.mkdir(parents=True)
    source = package / "messages.py"
    source.write_text("")
    declarations = package / "messages.pxd"
    declarations.write_text("")
    extension = package / ("messages" + importlib.machinery.EXTENSION_SUFFIXES[0])
    extension.write_bytes(b"")
    for path, mtime in ((source, 1_000_000_000), (declarations, 1_000_000_000), (extension, 2_000_000_000)):
        os.utime(path, (mtime, mtime))
    assert "pgcdc.decode.messages" not in hot_path.unbuilt(str(tmp_path))
    os.utime(declarations, (3_000_000_000, 3_000_000_000))
    assert "pgcdc.decode.messages" in hot_path.unbuilt(str(tmp_path))
    os.utime(extension, (3_000_000_000, 3_000_000_000))
    os.utime(source, (4_000_000_000, 4_000_000_000))
    assert "pgcdc.decode.messages" in hot_path.unbuilt(str(tmp_path))


def test_the_finder_imports_sources_ahead_of_extensions(tmp_path: Path) -> None:
    package = tmp_path / "pgcdc" / "decode"
    package.mkdir(parents=True)
    source = package / "pgoutput.py"
    source.write_text("")
    (package / ("pgoutput" + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"")
    spec = hot_path.SourcesFirst().find_spec("pgcdc.decode.pgoutput", [str(package)])
    assert spec is not None and spec.origin == str(source)
    assert hot_path.SourcesFirst().find_spec("pgcdc.lsn", [str(package)]) is None  # not one of MODULES


def test_an_extension_older_than_its_c_twin_is_stale(tmp_path: Path) -> None:
    package = tmp_path / "pgcdc" / "serialize"
    package.mkdir(parents=True)
    paths = [package / "assembly.py", package / "assembly.pyx"]
    extension = package / ("assembly" + importlib.machinery.EXTENSION_SUFFIXES[0])
    for path in paths:
        path.write_text("")
    extension.write_bytes(b"")
    for path, mtime in ((paths[0], 1_000_000_000), (paths[1], 1_000_000_000), (extension, 2_000_000_000)):
        os.utime(path, (mtime, mtime))
    assert "pgcdc.serialize.assembly" not in hot_path.unbuilt(str(tmp_path))
    os.utime(paths[1], (3_000_000_000, 3_000_000_000))
    assert "pgcdc.serialize.assembly" in hot_path.unbuilt(str(tmp_path))
