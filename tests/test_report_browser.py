"""The finding aid in a real headless browser (Debian's chromium), over the DevTools Protocol.

Checks what a person would: the page loads from disk with no console error,
no network request and no script from a title running; filtering narrows the
table; sorting reorders it; a detail page loads too.  Takes a screenshot
(under tmp; ARCHIVER_UPDATE_SCREENSHOT=1 also refreshes docs/img/report.png).

Skips when chromium is absent, except under CI=true or
ARCHIVER_REQUIRE_BROWSER=1, where a missing browser fails the test.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time

import pytest

from archiver import audit, catalog, report
from .conftest import ROOT
from .test_catalog_bags import sample_collection

websockets_sync = pytest.importorskip("websockets.sync.client")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WAIT = 60  # seconds: an upper bound for a step, never an expectation


def browser_or_skip() -> str:
    found = next((p for p in map(shutil.which, BROWSERS) if p), None)
    if found:
        return found
    reason = "needs chromium (apt-get install -y chromium) for the report browser test"
    if os.environ.get("CI") == "true" or os.environ.get("ARCHIVER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; it is required under CI=true / ARCHIVER_REQUIRE_BROWSER=1")
    pytest.skip(reason)


class DevTools:
    """A minimal Chrome DevTools Protocol client: one websocket, flat sessions."""

    def __init__(self, ws):
        self.ws = ws
        self.seq = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.seq += 1
        msg = {"id": self.seq, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv(timeout=WAIT))
            if reply.get("id") == self.seq:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)
            self.events.append(json.loads(self.ws.recv(timeout=WAIT)))


@pytest.fixture
def browser(tmp_path):
    exe = browser_or_skip()
    profile = tmp_path / "chromium-profile"
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start (exit {proc.poll()})")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        with websockets_sync.connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=WAIT) as ws:
            cdp = DevTools(ws)
            try:
                yield cdp
            finally:
                try:
                    cdp.send("Browser.close")
                except Exception:  # noqa: BLE001 - the browser may already be gone
                    pass
    finally:
        try:
            proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def open_page(cdp: DevTools, url: str) -> str:
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        cdp.send(f"{domain}.enable", session=session)
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    cdp.send("Page.navigate", {"url": url}, session=session)
    cdp.wait_for("Page.loadEventFired")
    return session


def js(cdp: DevTools, session: str, expression: str):
    res = cdp.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
    if "exceptionDetails" in res:
        raise AssertionError(f"{expression}: {res['exceptionDetails']}")
    return res["result"].get("value")


def problems(cdp: DevTools) -> list[str]:
    """Console errors, uncaught exceptions, dialogs (a title's script running) and network requests."""
    out = []
    for ev in cdp.events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            out.append(f"console {p['type']}: {p.get('args')}")
        elif m == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            out.append(f"log: {p['entry'].get('text')}")
        elif m == "Page.javascriptDialogOpening":
            out.append(f"dialog: {p.get('message')}")
        elif m == "Network.requestWillBeSent" and not p.get("request", {}).get("url", "").startswith(("file:", "data:")):
            out.append(f"network: {p['request']['url']}")
    return out


VISIBLE = "Array.from(document.querySelectorAll('#bags tbody tr')).filter(r => !r.hidden).map(r => r.cells[0].textContent.trim())"


def test_report_in_a_real_browser(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    monkeypatch.chdir(tmp_path)  # no archiver.toml of the checkout: a neutral heading
    bags = tmp_path / "bags"
    sample_collection(bags)
    catalog.rebuild(bags)
    catalog.note_event(bags / "a_interview", catalog.VALIDATION, "pass", "valid")
    catalog.note_event(bags / "c_oped", catalog.VALIDATION, "fail", "BAG-E001 error")
    audit.audit(bags)
    out = tmp_path / "site"
    assert report.report(bags, out=out).exit_code == 0

    session = open_page(browser, (out / "index.html").as_uri())
    assert js(browser, session, "document.title") == "Finding aid"
    assert len(js(browser, session, VISIBLE)) == 6
    assert js(browser, session, "document.getElementById('count').textContent") == "6 of 6 shown"
    full = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    assert full.startswith(b"\x89PNG")
    (tmp_path / "report.png").write_bytes(full)
    if os.environ.get("ARCHIVER_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        (ROOT / "docs" / "img" / "report.png").write_bytes(full)

    # typing into the filter narrows the table (accent-insensitive, like the CLI)
    js(browser, session, "document.getElementById('q').focus()")
    browser.send("Input.insertText", {"text": "kaminska"}, session=session)
    assert js(browser, session, VISIBLE) == ["Głos <script>alert(1)</script> & więcej"]
    assert js(browser, session, "document.getElementById('count').textContent") == "1 of 6 shown"
    filtered = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    (tmp_path / "report-filtered.png").write_bytes(filtered)

    # clearing it and choosing a select narrows by attribute
    js(browser, session, "var q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input'))")
    js(browser, session, "var s = document.querySelector('select[data-filter=translation]'); s.value = 'translated'; s.dispatchEvent(new Event('change'))")
    assert js(browser, session, VISIBLE) == ["Belarus must be free", "Belarus has to be free"]
    js(browser, session, "var s = document.querySelector('select[data-filter=translation]'); s.value = ''; s.dispatchEvent(new Event('change'))")

    # sorting by publication date: clicking twice reverses; unknown dates sort last going up
    js(browser, session, "document.querySelectorAll('#bags thead button')[4].click()")
    up = js(browser, session, "Array.from(document.querySelectorAll('#bags tbody tr')).map(r => r.cells[4].textContent)")
    assert up[:4] == ["2022-05", "2022-06-01", "2023", "2023-03-XX"] and up[4:] == ["unknown", "unknown"]
    js(browser, session, "document.querySelectorAll('#bags thead button')[4].click()")
    down = js(browser, session, "Array.from(document.querySelectorAll('#bags tbody tr')).map(r => r.cells[4].textContent)")
    assert down[2:] == ["2023-03-XX", "2023", "2022-06-01", "2022-05"]

    # a detail page, reached by its link
    href = js(browser, session, "document.querySelector('#bags a[href*=c_oped]').href")
    page = open_page(browser, href)
    assert "Głos <script>alert(1)</script>" in js(browser, page, "document.querySelector('h1').textContent")
    assert js(browser, page, "document.body.textContent.includes('fixity check')")
    assert problems(browser) == []
