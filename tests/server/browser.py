"""A headless Chromium driven over the DevTools protocol, to use the web page as a person does.

Why not Playwright or Selenium: both download their own browser builds at install time, which
this project's machines cannot fetch; Debian's ``chromium`` and the ``websocket-client`` package
are enough for the few things a test needs (open a page, choose a file, click, read the page).
``scripts/chromium.sh`` installs Chromium where it is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websocket


def chromium() -> str | None:
    """The Chromium executable on this machine, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One page of a headless Chromium: evaluate JavaScript, set file inputs, wait for text."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, suppress_origin=True, timeout=30)
        self.counter = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.counter += 1
        self.ws.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self.counter:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def js(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !!document.body")

    def choose_file(self, selector: str, path: str) -> None:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", files=[path], nodeId=node)

    def wait_for(self, condition: str, seconds: float = 30) -> Any:
        """Poll a JavaScript condition until it is truthy; its value."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.js(condition)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.1)


@contextmanager
def headless(executable: str) -> Iterator[Browser]:
    """A fresh headless Chromium with its own profile, closed afterwards."""
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",  # tests run as root in containers
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            browser = Browser(_page_socket(profile))
            yield browser
            browser.ws.close()
        finally:
            process.terminate()
            process.wait(timeout=10)


def _page_socket(profile: str) -> str:
    """The DevTools WebSocket of the first page, once Chromium has written its port."""
    deadline = time.monotonic() + 30
    port_file = Path(profile) / "DevToolsActivePort"
    while True:
        try:
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5) as answer:
                pages = [t for t in json.load(answer) if t["type"] == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except (OSError, ValueError, IndexError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("Chromium did not open its DevTools port")
        time.sleep(0.1)
