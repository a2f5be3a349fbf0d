"""The demo's services helper (``python -m pgcdc.sandbox``) as a process: an embedded service that cannot start
is one ``pgcdc: error:`` line in its log, which the demo shows, instead of a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pgcdc.embedded.install import EmbeddedPostgresError
from pgcdc.errors import PgcdcError

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_embedded_postgres_that_cannot_start_is_one_error_line_and_exit_code_1_and_leaves_the_directory() -> (
    None
):
    assert issubclass(EmbeddedPostgresError, PgcdcError), "the helper reports PgcdcErrors as one line"
    # Readable by the unprivileged account PostgreSQL runs as under root, as the demo's own workdir is.
    workdir = Path(tempfile.mkdtemp(prefix="pgcdc-demo-helper-"))
    workdir.chmod(0o755)
    try:
        # A data directory that holds files but no cluster: EmbeddedPostgres refuses it before running initdb.
        (workdir / "postgres").mkdir()
        (workdir / "postgres" / "stray").write_text("not a cluster")
        done = subprocess.run(
            [sys.executable, "-m", "pgcdc.sandbox", "--workdir", str(workdir), "--postgres"],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # The refused directory is someone else's: it is left as it was, not removed with the failed start.
        assert (workdir / "postgres" / "stray").read_text() == "not a cluster"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert done.returncode == 1, done.stderr
    assert done.stdout == "", "no URLs: nothing started"
    assert "Traceback" not in done.stderr
    assert done.stderr == (
        f"pgcdc: error: {workdir / 'postgres'} is not empty but holds no cluster (no PG_VERSION); "
        "empty it or pick another\n"
    )
