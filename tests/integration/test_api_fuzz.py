"""Fuzz a real worker's API from its own OpenAPI document (schemathesis): no request gets a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.connector_run import connector_settings
from tests.worker_run import worker_group

TOKEN = "fuzz-token-" + "0123456789abcdef"


def test_no_request_generated_from_the_openapi_document_gets_a_5xx(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # One connector for the operations on /connectors/{name} to reach; its database is a closed port on
    # loopback, so the fuzzer never makes the worker connect anywhere else.
    (tmp_path / "schemathesis.toml").write_text('[parameters]\n"path.name" = "fuzzed"\n')
    config = connector_settings("postgresql://nobody@127.0.0.1:1/nowhere", "fuzzed")
    with worker_group(kafka_bootstrap, tmp_path, count=1, token=TOKEN) as (worker,):
        with worker.client() as api:
            assert api.post("/connectors", json={"name": "fuzzed", "config": config}).status_code == 201
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "run",
                f"{worker.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--header",
                f"Authorization: Bearer {TOKEN}",
                "--max-examples",
                "25",
                "--seed",
                "4",
                # One worker: with two, schemathesis compiles patterns in threads at once, which can trip
                # CPython 3.11's "AST constructor recursion depth mismatch" SystemError inside the tool.
                "--workers",
                "1",
                "--no-color",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        with worker.client() as api:
            # Random settings never name a database, so nothing the fuzzer sent was accepted as a connector.
            leftovers = [n for n in api.get("/connectors").json() if n != "fuzzed"]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    print(result.stdout[-3000:])
    assert leftovers == [], leftovers
