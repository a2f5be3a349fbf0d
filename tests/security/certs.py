"""Certificates made by the tests with the openssl command: a CA, a server certificate for 127.0.0.1, a client."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    @property
    def cert_pem(self) -> str:
        return self.cert.read_text()

    @property
    def key_pem(self) -> str:
        return self.key.read_text()


@dataclass(frozen=True)
class Certificates:
    ca: Pair
    server: Pair
    client: Pair
    other_ca: Pair
    """A CA that signed none of the above: trusting it must fail verification."""


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> Pair:
    pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
        "-keyout", str(pair.key), "-out", str(pair.cert),
    )  # fmt: skip
    return pair


def _signed(directory: Path, name: str, ca: Pair, *, extensions: str) -> Pair:
    pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
    request = directory / f"{name}.csr"
    ext_file = directory / f"{name}.ext"
    ext_file.write_text(extensions + "\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(pair.key),
        "-out", str(request),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca.cert), "-CAkey", str(ca.key), "-CAcreateserial",
        "-days", "2", "-out", str(pair.cert), "-extfile", str(ext_file),
    )  # fmt: skip
    return pair


def make_certificates(directory: Path) -> Certificates:
    """A CA; a server certificate for 127.0.0.1 and localhost; a client certificate; an unrelated CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(directory, "test-ca")
    server = _signed(
        directory,
        "server",
        ca,
        extensions="subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
    )
    client = _signed(directory, "pgcdc-client", ca, extensions="extendedKeyUsage=clientAuth")
    return Certificates(ca=ca, server=server, client=client, other_ca=_ca(directory, "other-ca"))
