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
from typing import Any

from bench import services
from bench.engines import Engine
from bench.engines.ceilings import CopyEngine, RecvlogicalEngine, ReplicationConsumerEngine
from bench.engines.debezium_engine import DebeziumEngine, unavailable
from bench.engines.pgcdc_process import PgcdcEngine
from bench.harness import run_all
from bench.measure import Measurement, measurement_from_json, summarize
from bench.report import Report
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
    parser.add_argument(
        "--report-from",
        type=Path,
        metavar="JSON",
        help="measure nothing: report an earlier run's --json file",
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
    if args.report_from:
        report = report_from(args.report_from)
    else:
        report = measure(args, command_line(argv if argv is not None else sys.argv[1:]))
    print(report.console())
    if args.write_docs:
        report.write()


def command_line(argv: list[str]) -> str:
    """The command as the doc shows it: without --json, which changes nothing measured."""
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--json":
            skip = True
        elif not arg.startswith("--json="):
            shown.append(arg)
    return " ".join(["python", "-m", "bench", *map(shlex.quote, shown)])


def measure(args: argparse.Namespace, command: str) -> Report:
    unknown = sorted(set(args.workloads) - set(BUILDERS))
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from {''.join(BUILDERS)}")
    workloads = [BUILDERS[k](args.scale) for k in sorted(set(args.workloads))]
    engines, skipped = choose_engines(args)
    if skipped:
        print(
            f"Debezium skipped: {skipped}. Pass --no-debezium to silence this.", file=sys.stderr, flush=True
        )
    record: dict[str, Any] = {
        "command": command,
        "scale": args.scale,
        "repeat": args.repeat,
        "workloads": [w.key for w in workloads],
        "engines": [e.name for e in engines],
        "machine": services.machine(),
        "versions": None,
        "load": [os.getloadavg()],
        "debezium_skipped": skipped,
        "runs": [],
    }

    def progress(measurement: Measurement, line: str) -> None:
        print(line, flush=True)
        record["runs"].append(dataclasses.asdict(measurement))
        if args.json:  # after every run, so a run cut short still leaves what it measured
            args.json.write_text(json.dumps(record, indent=1))

    with services.postgres() as dsn:
        summaries = run_all(dsn, workloads, engines, repeat=args.repeat, progress=progress)
        record["versions"] = services.versions(dsn, debezium=any(e.name == "debezium" for e in engines))
    record["load"].append(os.getloadavg())
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))
    return Report(
        workloads=workloads,
        engines=engines,
        summaries=summaries,
        repeat=args.repeat,
        command=command,
        machine=record["machine"],
        versions=record["versions"],
        load=(record["load"][0], record["load"][1]),
        debezium_skipped=skipped,
    )


def report_from(path: Path) -> Report:
    """The report of an earlier run's --json file, without measuring anything."""
    record = json.loads(path.read_text())
    load = record["load"] if len(record["load"]) == 2 else [record["load"][0], record["load"][0]]
    return Report(
        workloads=[BUILDERS[k](record["scale"]) for k in record["workloads"]],
        engines=[ENGINES[name]() for name in record["engines"]],
        summaries=summarize([measurement_from_json(r) for r in record["runs"]]),
        repeat=record["repeat"],
        command=record["command"],
        machine=record["machine"],
        versions=record["versions"] or "unknown (the run was cut short)",
        load=(tuple(load[0]), tuple(load[1])),
        debezium_skipped=record["debezium_skipped"],
        note=record.get("note", ""),
    )


if __name__ == "__main__":
    main()
