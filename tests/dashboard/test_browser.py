"""The page in headless Chromium, fed live by the demo desk: numbers update, hedges appear,
the kill switch refuses without the token and works with it; a screenshot is kept."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from deltahedge.dashboard.demo_feed import DemoDesk, DemoFeedThread
from deltahedge.dashboard.models import EngineMode
from deltahedge.dashboard.readmodel import ReadModel
from deltahedge.dashboard.server import DashboardServer, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "artifacts" / "dashboard.png"
TOKEN = "browser-test-token-5f1c9a7e"


def _chromium() -> str:
    path = os.environ.get("DELTAHEDGE_CHROMIUM") or shutil.which("chromium")
    path = path or shutil.which("chromium-browser")
    if path and Path(path).exists():
        return path
    message = (
        "Debian's chromium is not installed (apt-get install -y chromium, or set "
        "DELTAHEDGE_CHROMIUM to its path); Playwright's own browser download is not used"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _playwright():  # type: ignore[no-untyped-def]
    """``playwright.sync_api``; skipped locally without it, a failure in CI (as chromium is)."""
    try:
        from playwright import sync_api
    except ImportError as exc:
        message = (
            f"playwright is not installed ({exc}); it is a dev dependency "
            "(pip install -e '.[dev]'), needed for the dashboard's browser tests"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sync_api


@pytest.fixture(scope="module")
def browser():
    sync_api = _playwright()
    executable = _chromium()
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser, errors: list[str]):
    page = browser.new_page(viewport={"width": 1680, "height": 1050})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


@pytest.fixture()
def live() -> Iterator[tuple[DashboardServer, DemoDesk, DemoFeedThread, ReadModel]]:
    _playwright()
    rm = ReadModel()
    desk = DemoDesk(seed=11, step_seconds=60.0)
    feed = DemoFeedThread(desk, rm, interval_s=0.05).start()
    server = serve(rm, desk, host="127.0.0.1", port=0, token=TOKEN)
    try:
        yield server, desk, feed, rm
    finally:
        server.stop()
        feed.stop()


def _wait_until(page, predicate, timeout_s: float, what: str) -> None:
    # Poll from Python: the page's CSP forbids the eval that page.wait_for_function needs.
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out after {timeout_s} s waiting until {what}")


def _seq(page) -> int:
    text = page.locator("#seq").inner_text()
    return int(text) if text.isdigit() else -1


def _signed(x: float, digits: int) -> str:
    # app.js fmtSigned: '+' unless it rounds to zero or below, en-US grouping, fixed digits.
    text = f"{x:,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":
        return f"{0:.{digits}f}"
    return f"+{text}" if x > 0 else text


def test_live_page_updates_logs_hedges_and_guards_kill_switch(live, browser) -> None:
    from playwright.sync_api import expect

    server, desk, feed, rm = live
    errors: list[str] = []
    page = _page(browser, errors)
    try:
        page.goto(server.url)

        # Numbers arrive and keep changing as the engine publishes.
        expect(page.locator("#delta-BTC")).to_be_visible(timeout=10_000)
        seq0 = _seq(page)
        _wait_until(page, lambda: _seq(page) > seq0 + 3, 10, "the page shows new updates")
        # A hedge appears in the log (the demo book leaves its band within seconds).
        rows = page.locator("#hedge-log tbody tr[data-intent]")
        _wait_until(page, lambda: rows.count() > 0, 15, "a hedge appears in the log")
        # Freeze the publisher, let the page catch up, and compare with what was published.
        feed.hold()
        snap = rm.snapshot()
        _wait_until(page, lambda: _seq(page) == snap.seq, 5, f"the page shows seq {snap.seq}")
        btc = next(u for u in snap.underlyings if u.underlying == "BTC")
        assert page.locator("#delta-BTC").inner_text() == _signed(btc.delta_coin, 3)
        # the page merged the pushed diffs into the same history the read-model holds
        points = page.locator("#delta-chart-BTC").get_attribute("data-points")
        assert points == str(len(snap.delta_history[0].ts_ns))
        shown = [rows.nth(i).get_attribute("data-intent") for i in range(rows.count())]
        assert shown == [h.intent_id for h in reversed(snap.hedges)][: len(shown)]
        assert page.locator("#mode").inner_text().lower() == "running"
        page.wait_for_timeout(400)  # let Plotly finish drawing before the screenshot
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACT), full_page=True)
        feed.release()

        # Kill switch: no token -> 401, wrong token -> 403; the engine is not called.
        toast = page.locator("#control-result")
        for typed, status in (("", "401"), ("not-the-token", "403")):
            page.click("#btn-kill-freeze")
            page.fill("#token-input", typed)
            page.click("#control-confirm")
            expect(toast).to_contain_text(f"refused ({status})", timeout=5_000)
        assert desk.calls == []
        # The right token: the engine is asked to freeze and the page shows it.
        page.click("#btn-kill-freeze")
        page.fill("#token-input", TOKEN)
        page.click("#control-confirm")
        expect(toast).to_contain_text("accepted", timeout=5_000)
        expect(page.locator("#mode")).to_have_text(EngineMode.FROZEN.value, timeout=5_000)
        assert desk.calls == ["kill:freeze"]
        assert TOKEN not in page.content()
        # The browser logs the refused requests (401, 403) as resource errors; nothing else.
        unexpected = [e for e in errors if "status of 401" not in e and "status of 403" not in e]
        assert unexpected == []
    finally:
        page.close()


def test_audit_page_over_a_journal_is_read_only_and_shows_unknowns_blank(tmp_path, browser):
    from playwright.sync_api import expect

    from deltahedge.dashboard.journal_source import JournalReadModel
    from deltahedge.store import Journal

    path = str(tmp_path / "journal.sqlite")
    t0 = 1_764_000_000_000_000_000
    with Journal(path) as journal:
        for i in range(5):  # ETH is journaled without spot or band: shown blank, not zero
            extra = {"spot": 100_000.0, "band_lower": -2.0, "band_upper": 2.0}
            journal.record_greeks(t0 + i * 10**9, "BTC", delta=0.5 * i, gamma=-4e-5, extra=extra)
            journal.record_greeks(t0 + i * 10**9, "ETH", delta=-3.0 * i)
    source = JournalReadModel(path)
    source.refresh()
    server = serve(source, None, port=0, source_name="journal")
    errors: list[str] = []
    page = _page(browser, errors)
    try:
        page.goto(server.url)
        expect(page.locator("#delta-BTC")).to_have_text("+2.000", timeout=10_000)
        expect(page.locator("#delta-ETH")).to_have_text("-12.000")
        expect(page.locator("#delta-usd-ETH")).to_have_text("— USD")
        expect(page.locator("#underlyings")).to_contain_text("band unknown")
        expect(page.locator("#source")).to_have_text("journal")
        expect(page.locator("#btn-kill-freeze")).to_be_disabled()
        expect(page.locator("#pnl-total")).to_have_text("—")  # no pnl journaled
        expect(page.locator("#hedge-log tbody")).to_have_text("no hedges yet")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACT.with_name("dashboard-audit.png")), full_page=True)
        assert errors == []
    finally:
        page.close()
        server.stop()
        source.close()
