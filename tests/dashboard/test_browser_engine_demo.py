"""`deltahedge demo` (what `make demo` runs) serves the dashboard: in headless Chromium the
engine's numbers update, its hedges appear in the log, and the kill switch refuses without
the token and freezes the engine with it. A screenshot is kept in artifacts/."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dashboard.test_browser import _chromium, _page, _playwright, _seq, _wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "artifacts" / "dashboard-engine-demo.png"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def demo_run():
    _playwright()
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    cmd = [sys.executable, "-m", "deltahedge.cli", "demo", "--duration", "60", "--no-browser",
           "--port", str(_free_port()), "--speed", "300"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = token = None
    seen: list[str] = []
    deadline = time.monotonic() + 120  # the first run may compile the numba kernels
    assert proc.stdout is not None
    while time.monotonic() < deadline and token is None:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"dashboard (http://127\.0\.0\.1:\d+)\s+\(control token: (\S+)\)", line)
        if m:
            url, token = m.group(1), m.group(2)
    try:
        assert url and token, "demo did not print its dashboard URL:\n" + "".join(seen)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_make_demo_serves_a_live_dashboard_of_the_engine(demo_run) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, token = demo_run
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=_chromium(), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = _page(browser, errors)
        try:
            page.goto(url)
            expect(page.locator("#delta-BTC")).to_be_visible(timeout=20_000)
            expect(page.locator("#mode")).to_have_text("running", timeout=20_000)
            seq0 = _seq(page)
            _wait_until(page, lambda: _seq(page) > seq0 + 3, 20, "the engine's updates arrive")
            rows = page.locator("#hedge-log tbody tr[data-intent]")
            _wait_until(page, lambda: rows.count() > 0, 40, "an engine hedge appears in the log")
            assert "BTC" in rows.first.inner_text()
            # the smile panel: the engine's surface with the Deribit quotes it was fitted to
            sel = page.locator("#smile-select")
            _wait_until(page, lambda: sel.locator("option").count() >= 3, 10, "smiles arrive")
            assert sel.input_value() == "BTC 2026-01-30"  # the first expiry with quotes
            assert int(sel.get_attribute("data-quotes") or 0) == 6  # 80k..110k, OTM side
            # each paper venue: its own book's age (re-centred every simulated second), and
            # why its funding bar is zero
            venues = page.locator("#venues tbody tr[data-venue]")
            _wait_until(page, lambda: venues.count() == 2 and "none accrues"
                        in venues.first.inner_text(), 20, "venue rows with their funding")  # fmt: skip
            for k in range(2):
                age = venues.nth(k).locator("td").nth(3).inner_text()
                assert 0.0 <= float(age) <= 2.0, age  # the limit is 2 s
            page.wait_for_timeout(500)
            ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACT), full_page=True)
            toast = page.locator("#control-result")
            page.click("#btn-kill-freeze")
            page.fill("#token-input", "")
            page.click("#control-confirm")
            expect(toast).to_contain_text("refused (401)", timeout=5_000)
            expect(page.locator("#mode")).to_have_text("running")
            page.click("#btn-kill-freeze")
            page.fill("#token-input", token)
            page.click("#control-confirm")
            expect(toast).to_contain_text("accepted", timeout=5_000)
            expect(page.locator("#mode")).to_have_text("frozen", timeout=10_000)
            assert token not in page.content()
            unexpected = [e for e in errors if "status of 401" not in e]
            assert unexpected == []
        finally:
            page.close()
            browser.close()
