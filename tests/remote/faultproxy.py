"""A loopback HTTP proxy that injects faults between an S3 client and the server.

Point the client's endpoint at the proxy; every request is forwarded to the
upstream server unless a queued fault matches it.  Faults are consumed in order,
each by the first request it matches:

- ``("status", code)``: answer with that HTTP status and an S3-style error body,
  without contacting the server (503 SlowDown, 429, 500, 403, 404 ...);
- ``("error", (code, "ErrorCode"))``: the same with a chosen S3 error code;
- ``("slow-status", (seconds, code))``: wait `seconds`, then answer with that status
  (a request still in flight when its client moves on);
- ``("reset", None)``: forward, send the headers and half the body, then reset
  the connection;
- ``("stall", seconds)``: forward, then send nothing for `seconds` and close;
- ``("truncate", nbytes)``: forward, then send a well-formed response holding
  only the first `nbytes` bytes of the body (a store serving a short object).

Every request is recorded as ``(method, path, range header, what was done)``, and
the `time.monotonic()` of its arrival in `times`.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from s3util import LoopbackServer

_CODES = {403: "AccessDenied", 404: "NoSuchKey", 429: "SlowDown", 500: "InternalError",
          503: "SlowDown"}

Matcher = Callable[[str, str, str | None], bool]


def ranged_get(method: str, path: str, rng: str | None) -> bool:
    """Matches a ranged GET of an object (what jetliner's reads are)."""
    return method == "GET" and rng is not None


def any_request(method: str, path: str, rng: str | None) -> bool:
    return True


class FaultProxy(LoopbackServer):
    """Start with ``with FaultProxy(upstream_port) as proxy: ...``; ``proxy.url``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.faults: list[tuple[Matcher, str, object]] = []
        self.log: list[tuple[str, str, str | None, str]] = []
        self.times: list[float] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rng = self.headers.get("Range")
                fault = proxy._take(self.command, self.path, rng)
                action = "forward" if fault is None else fault[0]
                with proxy.lock:
                    proxy.log.append((self.command, self.path, rng, action))
                    proxy.times.append(time.monotonic())
                if fault is not None and fault[0] == "status":
                    self._send_error(int(fault[1]))
                    return
                if fault is not None and fault[0] == "error":
                    self._send_error(*fault[1])
                    return
                if fault is not None and fault[0] == "slow-status":
                    seconds, code = fault[1]
                    time.sleep(seconds)
                    self._send_error(code)
                    return
                status, reason, headers, payload = proxy._forward(self.command, self.path,
                                                                 self.headers, body)
                if fault is None:
                    self._send(status, reason, headers, payload)
                elif fault[0] == "reset":
                    self._send_head(status, reason, headers, len(payload))
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                elif fault[0] == "stall":
                    time.sleep(float(fault[1]))
                    self.close_connection = True
                elif fault[0] == "truncate":
                    cut = payload[: int(fault[1])]
                    headers = [(k, v) for k, v in headers if k.lower() != "content-range"]
                    self._send(status, reason, headers, cut)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle

            def _send_head(self, status: int, reason: str, headers: list[tuple[str, str]],
                           length: int) -> None:
                self.send_response(status, reason)
                for k, v in headers:
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(length))
                self.end_headers()

            def _send(self, status: int, reason: str, headers: list[tuple[str, str]],
                      payload: bytes) -> None:
                if self.command == "HEAD":
                    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                    self._send_head(status, reason, headers, length)
                    return
                self._send_head(status, reason, headers, len(payload))
                self.wfile.write(payload)

            def _send_error(self, code: int, name: str | None = None) -> None:
                name = name or _CODES.get(code, "InternalError")
                payload = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{name}</Code>'
                           f"<Message>injected {code}</Message></Error>").encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/xml")
                length = 0 if self.command == "HEAD" else len(payload)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

        self._listen(Handler)

    def _take(self, method: str, path: str, rng: str | None) -> tuple[str, object] | None:
        with self.lock:
            for i, (match, kind, arg) in enumerate(self.faults):
                if match(method, path, rng):
                    del self.faults[i]
                    return kind, arg
        return None

    def _forward(self, method: str, path: str, headers: object,
                 body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            fwd = {k: v for k, v in headers.items() if k.lower() not in ("connection",)}
            conn.request(method, path, body=body, headers=fwd)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, resp.reason, resp.getheaders(), payload
        finally:
            conn.close()

    def add(self, kind: str, arg: object = None, match: Matcher = ranged_get,
            times: int = 1) -> None:
        """Queue a fault for the next `times` requests that `match`."""
        with self.lock:
            self.faults.extend((match, kind, arg) for _ in range(times))

    def requests(self, method: str | None = "GET",
                 ranged: bool | None = None) -> list[tuple[str, str, str | None, str]]:
        """Logged requests of `method` (None: all), ranged or not (None: both)."""
        with self.lock:
            return [r for r in self.log if (method is None or r[0] == method)
                    and (ranged is None or (r[2] is not None) == ranged)]

    def requests_after(self, moment: float) -> list[tuple[str, str, str | None, str]]:
        """Logged requests that arrived after `moment` (a `time.monotonic()` value)."""
        with self.lock:
            return [r for r, t in zip(self.log, self.times, strict=True) if t > moment]

    def clear(self) -> None:
        with self.lock:
            self.log.clear()
            self.times.clear()
            self.faults.clear()
