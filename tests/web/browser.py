"""Headless Chromium for the page tests, and the accessibility check every page passes.

Debian's `chromium` driven by Playwright (no browser download: `executable_path`); axe-core
(shipped inside `axe-playwright-python`, nothing fetched) checks each page state.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
# Screenshots the suite keeps, one folder per page.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
_BLOCKING = frozenset({"serious", "critical"})


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands, each reduced
    to its rule id, its help text and the selectors of the nodes it names."""
    results = await Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        {
            "id": v["id"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]],
        }
        for v in violations
        if v.get("impact") in _BLOCKING
    ]
