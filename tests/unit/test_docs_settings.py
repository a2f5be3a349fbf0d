"""Every connector setting pgcdc acts on is documented in docs/configuration.md, with its default."""

from __future__ import annotations

from pathlib import Path

from pgcdc.config import SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented_with_its_default() -> None:
    text = DOC.read_text()
    for setting in SETTINGS:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{setting.key}` |")), None)
        assert row is not None, f"{setting.key} is missing from docs/configuration.md"
        if setting.default is not None:
            assert f"`{setting.default}`" in row, f"{setting.key}'s default is not documented"
