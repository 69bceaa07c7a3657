"""A fault-injecting proxy in front of the action server: passes calls through, or holds
them until released (a hung action server), or refuses them (a broken one).

Point the Rasa server at it with ``ACTION_ENDPOINT_URL`` and set :attr:`target` to the real
action server once the system runs. Calls held when :meth:`release` is called are answered
502 and never reach the action server, so nothing a held call would have done happens.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class ActionProxy:
    """`with ActionProxy() as proxy:` runs it on a free port in a background thread."""

    def __init__(self) -> None:
        self.target = ""
        self.held = 0
        self._hung = threading.Event()
        self._released = threading.Event()
        self.broken = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy._hung.is_set():
                    proxy.held += 1
                    proxy._released.wait(120)
                    with contextlib.suppress(OSError):  # Rasa may have given up already
                        self._answer(502, b'{"error": "released"}')
                    return
                if proxy.broken:
                    self._answer(500, b'{"error": "broken"}')
                    return
                reply = requests.post(proxy.target + self.path, data=body, timeout=60,
                                      headers={"Content-Type": "application/json"})
                self._answer(reply.status_code, reply.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def hanging(self) -> bool:
        return self._hung.is_set()

    def hang(self) -> None:
        """From now on every call waits until :meth:`release`."""
        self._released.clear()
        self._hung.set()

    def release(self) -> None:
        """End the hang: held calls get 502, new calls pass through again."""
        self._hung.clear()
        self._released.set()

    def __enter__(self) -> ActionProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
