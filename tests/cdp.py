"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe` (no dependency):
open a page in headless Chromium, press keys, click, and read the DOM back."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from typing import Any

KEY_CODES = {"ArrowRight": 39, "ArrowLeft": 37, " ": 32}


class Browser:
    """Headless Chromium with one page; `key(...)`, `js(...)`; a context manager."""

    def __init__(self, chromium: str, url: str) -> None:
        to_child, self._out = os.pipe()  # Chromium reads commands on fd 3
        self._in, from_child = os.pipe()  # and writes replies and events on fd 4

        def pipes() -> None:
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        self.proc = subprocess.Popen(
            [chromium, *flags, "--remote-debugging-pipe", "about:blank"],
            preexec_fn=pipes, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self.console = b"", 0, []  # type: list[str]
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        reply = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = reply["sessionId"]
        self.call("Runtime.enable", session=True)
        deadline = time.time() + 30
        loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        while not self.js(loaded) and time.time() < deadline:  # (about:blank comes first)
            time.sleep(0.05)

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> Any:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown"):
                self.console.append(json.dumps(reply["params"])[:300])
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        params = {"expression": expression, "returnByValue": True}
        return self.call("Runtime.evaluate", params, session=True)["result"].get("value")

    def key(self, key: str) -> None:
        """Press and release `key` (a DOM key name: "ArrowRight", " ")."""
        code = KEY_CODES[key]
        for kind in ("keyDown", "keyUp"):
            event = {"type": kind, "key": key, "windowsVirtualKeyCode": code}
            self.call("Input.dispatchKeyEvent", event, session=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.call("Browser.close")
        self.proc.wait(timeout=30)
        os.close(self._out)
        os.close(self._in)
