"""Fixtures of the demo's end-to-end tests: ``pgcdc demo`` as a real process, and headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by scripts/bootstrap), driven by Playwright; Playwright's
own browser download is never used. Screenshots go to artifacts/browser/ (and, with PGCDC_DOC_IMAGES=1, the
ones the README shows to docs/images/).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
DOC_IMAGES = REPO_ROOT / "docs" / "images"
START_TIMEOUT_S = 180.0
"""Seconds for ``pgcdc demo`` to print that it is ready: initdb and three processes on a busy machine."""
STOP_TIMEOUT_S = 120.0


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def users(self) -> str:
        return self.urls["Users app"]

    @property
    def messages(self) -> str:
        return self.urls["Message list"]

    @property
    def kafka(self) -> str:
        return self.urls["Kafka"]

    @property
    def topic(self) -> str:
        return self.urls["Topic"]

    def text(self) -> str:
        return "\n".join(self.output)


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (PostgreSQL and Tansu are grandchildren, through the helper)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture(scope="module")
def running_demo() -> Iterator[RunningDemo]:
    """``pgcdc demo`` with embedded services on free ports, as a person starts it; Ctrl-C (SIGINT) at the end
    must stop it with exit code 0 and leave none of its processes behind."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "KAFKA_URL")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pgcdc.cli",
            "demo",
            "--users-port",
            "0",
            "--messages-port",
            "0",
            "--api-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    demo = RunningDemo(process=process)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            demo.output.append(line.rstrip("\n"))
            found = re.match(r"\s+(Users app|Message list|Kafka|Topic)\s+(\S+)", line)
            if found:
                demo.urls[found.group(1)] = found.group(2)
            if "Ctrl-C stops everything" in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    ready.wait(START_TIMEOUT_S)
    if process.poll() is not None or len(demo.urls) < 4:
        process.kill()
        what = (
            f"exited with {process.wait()}" if ready.is_set() else f"was not ready in {START_TIMEOUT_S:.0f} s"
        )
        pytest.fail(f"pgcdc demo {what}:\n{demo.text()}")
    print(f"pgcdc demo ready in {time.monotonic() - started:.1f} s")
    try:
        yield demo
    finally:
        below = _descendants(process.pid)
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"pgcdc demo did not stop within {STOP_TIMEOUT_S:.0f} s of Ctrl-C:\n{demo.text()}")
        reader.join(10)
        assert code == 0, f"pgcdc demo exited with {code} after Ctrl-C:\n{demo.text()}"
        assert demo.output[-1] == "Stopped.", demo.text()
        deadline = time.monotonic() + 10
        while (left := [pid for pid in below if _alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"processes of pgcdc demo still running after it stopped: {left}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tabs:
    """One browser context per test: its pages and every dialog (alert) any of them opened."""

    context: BrowserContext
    dialogs: list[str] = field(default_factory=list)

    def open(self, url: str) -> Page:
        page = self.context.new_page()
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        return page


def save_screenshot(page: Page, name: str, *, for_docs: bool = False) -> Path:
    """Save to artifacts/browser/<name>.png; also to docs/images/ when PGCDC_DOC_IMAGES=1 and ``for_docs``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if for_docs and os.environ.get("PGCDC_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / f"{name}.png"))
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def tabs(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tabs]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = Tabs(context=context)
    try:
        yield opened
    finally:
        if request.node.stash.get(_FAILED, False):
            for number, page in enumerate(context.pages):
                save_screenshot(page, f"failed-{request.node.name}-{number}")
        context.close()
