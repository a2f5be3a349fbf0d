"""Which per-row modules run compiled (Cython extensions that setup.py builds) and which as plain Python.

Each module in MODULES is plain, typed Python; when a C compiler is there, ``pip install`` (or ``python setup.py
build_ext --inplace``) also compiles it into an extension next to the source, which Python then imports instead;
one, ``serialize.assembly``, has a C twin (``.pyx``) that is compiled in its place. Some have a ``.pxd`` beside
them that makes their per-row classes extension types when compiled, which other compiled modules ``cimport``: so
the modules run compiled all together or not at all. An extension older than its source, its ``.pxd`` or its
``.pyx`` would run old code, and one missing would leave the others' cimports unmet: then all of
them are imported as their sources. So does ``PGCDC_PURE_PYTHON=1`` in the environment: to compare the two, or to
rule the compiled code out when looking for a bug.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

MODULES = (
    "pgcdc.decode.messages",
    "pgcdc.decode.pgoutput",
    "pgcdc.decode.values.numeric",
    "pgcdc.decode.values.temporal",
    "pgcdc.events.change",
    "pgcdc.events.table",
    "pgcdc.events.builder",
    "pgcdc.serialize.assembly",
    "pgcdc.serialize.records",
    "pgcdc.produce.producer",
    "pgcdc.ack.tracker",
)
"""The modules setup.py compiles; all of the stream's per-row path."""

PURE_PYTHON_ENV = "PGCDC_PURE_PYTHON"


def _extension(source: str) -> str | None:
    """The compiled extension built from ``source`` (beside it), if there is one."""
    stem = source[: -len(".py")]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.isfile(stem + suffix):
            return stem + suffix
    return None


def _stale(source: str) -> bool:
    """No extension built from ``source``, or one older than the source, its ``.pxd`` or its ``.pyx`` (a C twin
    that setup.py compiles instead of the source)."""
    extension = _extension(source)
    if extension is None:
        return True
    built = os.path.getmtime(extension)
    stem = source[: -len(".py")]
    return any(
        os.path.isfile(path) and built < os.path.getmtime(path)
        for path in (source, stem + ".pxd", stem + ".pyx")
    )


def unbuilt(root: str | None = None) -> list[str]:
    """The ones of MODULES with no extension, or one older than its source or .pxd: what a build would
    (re)compile. While any is, all of them are imported as their sources."""
    root = root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [name for name in MODULES if _stale(os.path.join(root, *name.split(".")) + ".py")]


def compiled_modules() -> list[str]:
    """The ones of MODULES that were imported from a compiled extension."""
    return [name for name in MODULES if not str(importlib.import_module(name).__file__).endswith(".py")]


def variant() -> str:
    """``compiled``, ``python``, or ``partly compiled (...)`` naming the compiled ones."""
    compiled = compiled_modules()
    if len(compiled) == len(MODULES):
        return "compiled"
    return f"partly compiled ({', '.join(compiled)})" if compiled else "python"


class SourcesFirst(importlib.abc.MetaPathFinder):
    """Finds MODULES as their .py files ahead of the compiled extensions beside them."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES or path is None:
            return None
        leaf = fullname.rpartition(".")[2] + ".py"
        for folder in path:
            source = os.path.join(folder, leaf)
            if os.path.isfile(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def prefer_sources(environ: Mapping[str, str] = os.environ) -> None:
    """Import MODULES from their sources when any extension is missing or stale, or with PGCDC_PURE_PYTHON set
    (to anything but empty or 0)."""
    if any(isinstance(finder, SourcesFirst) for finder in sys.meta_path):
        return
    if environ.get(PURE_PYTHON_ENV, "") not in ("", "0") or unbuilt():
        sys.meta_path.insert(0, SourcesFirst())
