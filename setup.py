"""Compiles the per-row modules (pgcdc.hot_path.MODULES) with Cython when a C compiler is there.

Each module is plain Python too: where the compiler or the Python headers are missing, the build warns and the
package runs as Python (optional extensions), only slower. All other metadata is in pyproject.toml.
"""

from __future__ import annotations

import os
import runpy

from setuptools import Extension, setup

# pip builds with pyproject.toml's build requirements, Cython among them; a bare setup.py run may lack it.
try:
    from Cython.Build import cythonize
except ImportError:
    cythonize = None

# The list lives with the code that reports which variant runs; read without importing pgcdc's dependencies.
MODULES = runpy.run_path("pgcdc/hot_path.py")["MODULES"]


def source(module: str) -> str:
    """The module's .pyx where it has one (a C twin of its plain-Python .py), else its .py."""
    stem = module.replace(".", "/")
    return stem + ".pyx" if os.path.isfile(stem + ".pyx") else stem + ".py"


extensions = [Extension(name, [source(name)], optional=True) for name in MODULES]
setup(
    ext_modules=[]
    if cythonize is None
    else cythonize(
        extensions,
        build_dir="build/cython",  # the generated C stays out of the source tree
        language_level=3,
        quiet=True,
        # #line directives: gcc's messages and profilers (callgrind) name the .py lines, not the generated C.
        emit_linenums=True,
    )
)
