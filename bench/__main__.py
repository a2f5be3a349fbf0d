"""pgcdc against the real Debezium 3.6 and PostgreSQL's own ceilings, on workloads (a)-(f), in one command.

Run: ``.venv/bin/python -m bench [--write-docs]``; ``--scale 0.01 --repeat 1`` for a quick look.
Uses an embedded PostgreSQL and Tansu broker unless DATABASE_URL / KAFKA_URL name real ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path

from bench import services
from bench.engines import Engine
from bench.engines.ceilings import CopyEngine, RecvlogicalEngine, ReplicationConsumerEngine
from bench.engines.debezium_engine import DebeziumEngine, unavailable
from bench.engines.pgcdc_process import PgcdcEngine
from bench.harness import run_all
from bench.workloads import BUILDERS

ENGINES: dict[str, type[Engine]] = {
    "pgcdc": PgcdcEngine,
    "debezium": DebeziumEngine,
    "pg_recvlogical": RecvlogicalEngine,
    "psycopg2": ReplicationConsumerEngine,
    "copy": CopyEngine,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workloads", default="abcdef", help="which of a-f to run (default: abcdef)")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated, of {', '.join(ENGINES)} (default: all)",
    )
    parser.add_argument("--no-debezium", action="store_true", help="leave Debezium out (no Java needed)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="repetitions; medians are reported (default: 3)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every workload's size (default: 1, the issue's sizes)",
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument(
        "--write-docs", action="store_true", help="write docs/benchmarks.md and docs/images/benchmarks.png"
    )
    return parser.parse_args(argv)


def choose_engines(args: argparse.Namespace) -> tuple[list[Engine], str | None]:
    """The engines to run, and why Debezium was left out (if it was asked for but cannot run)."""
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        raise SystemExit(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    skipped = None
    if args.no_debezium and "debezium" in names:
        names.remove("debezium")
    elif "debezium" in names and (why := unavailable()) is not None:
        names.remove("debezium")
        skipped = why
    return [ENGINES[n]() for n in names], skipped


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    unknown = sorted(set(args.workloads) - set(BUILDERS))
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from {''.join(BUILDERS)}")
    workloads = [BUILDERS[k](args.scale) for k in sorted(set(args.workloads))]
    engines, skipped = choose_engines(args)
    if skipped:
        print(
            f"Debezium skipped: {skipped}. Pass --no-debezium to silence this.", file=sys.stderr, flush=True
        )
    load_before = os.getloadavg()
    with services.postgres() as dsn:
        summaries = run_all(
            dsn, workloads, engines, repeat=args.repeat, progress=lambda line: print(line, flush=True)
        )
        version_line = services.versions(dsn, debezium=any(e.name == "debezium" for e in engines))
    load_after = os.getloadavg()
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "machine": services.machine(),
                    "versions": version_line,
                    "load": [load_before, load_after],
                    "debezium_skipped": skipped,
                    "workloads": {w.key: w.title for w in workloads},
                    "runs": [dataclasses.asdict(r) for s in summaries for r in s.runs],
                },
                indent=1,
            )
        )
    from bench.report import Report

    report = Report(
        workloads=workloads,
        engines=engines,
        summaries=summaries,
        repeat=args.repeat,
        command=command,
        machine=services.machine(),
        versions=version_line,
        load=(load_before, load_after),
        debezium_skipped=skipped,
    )
    print(report.console())
    if args.write_docs:
        report.write()


if __name__ == "__main__":
    main()
