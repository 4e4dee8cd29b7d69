"""Shared by the remote tests: test credentials and Avro data with its expected frame."""

from __future__ import annotations

import io
import random

import fastavro
import polars as pl

KEY_ID = "AKIAJETLINERTEST0001"
SECRET = "jetliner-test-secret-key"


SCHEMA = {
    "type": "record", "name": "Event",
    "fields": [
        {"name": "user_id", "type": "long"},
        {"name": "amount", "type": "double"},
        {"name": "status", "type": {"type": "enum", "name": "Status",
                                    "symbols": ["active", "inactive", "banned"]}},
        {"name": "note", "type": ["null", "string"]},
    ],
}


def records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"user_id": i, "amount": round(rng.uniform(0, 500), 2),
             "status": rng.choice(["active", "inactive", "banned"]),
             "note": None if i % 7 == 0 else f"note {rng.random():.6f}"} for i in range(n)]


def avro(n: int, seed: int = 0, codec: str = "null", sync_interval: int = 16_000) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(SCHEMA), records(n, seed), codec=codec,
                    sync_interval=sync_interval)
    return buf.getvalue()


def expected(data: bytes) -> pl.DataFrame:
    """What fastavro reads back, as the frame jetliner should produce."""
    rows = list(fastavro.reader(io.BytesIO(data)))
    return pl.DataFrame(rows, schema={
        "user_id": pl.Int64, "amount": pl.Float64,
        "status": pl.Enum(["active", "inactive", "banned"]), "note": pl.String})


class LoopbackServer:
    """A threaded HTTP server on a free 127.0.0.1 port; a context manager."""

    def _listen(self, handler: type) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class StaticHTTPServer(LoopbackServer):
    """A loopback HTTP server of in-memory files with ``Range`` support (or without,
    to test servers that ignore it); ``with StaticHTTPServer(files) as srv: srv.url``."""

    def __init__(self, files: dict[str, bytes], ranges: bool = True,
                 etag: str | None = None) -> None:
        from http.server import BaseHTTPRequestHandler

        self.etag = etag
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(head=True)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                data = files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                match = self.headers.get("If-Match")
                if match is not None and match != outer.etag:
                    self.send_response(412)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                rng = self.headers.get("Range")
                status, body = 200, data
                if rng and ranges:
                    first, last = rng.split("=")[1].split("-")
                    start, end = int(first), min(int(last) + 1, len(data))
                    status, body = 206, data[start:end]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes" if ranges else "none")
                if outer.etag:
                    self.send_header("ETag", outer.etag)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        self._listen(Handler)


class FakeInstanceMetadata(LoopbackServer):
    """A loopback stand-in for the EC2 instance metadata service (IMDSv2), handing
    out role credentials the way an instance with an IAM role gets them."""

    def __init__(self, key_id: str, secret: str, role: str = "jetliner-test-role") -> None:
        import json
        from http.server import BaseHTTPRequestHandler

        creds = json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key_id,
                            "SecretAccessKey": secret, "Token": "role-session-token",
                            "LastUpdated": "2026-01-01T00:00:00Z",
                            "Expiration": "2099-01-01T00:00:00Z"}).encode()
        base = "/latest/meta-data/iam/security-credentials"
        routes = {f"{base}/": role.encode(), f"{base}/{role}": creds}
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:  # noqa: N802
                outer.paths.append(self.path)
                if self.path == "/latest/api/token":
                    self._reply(200, b"imds-session-token")
                else:
                    self._reply(404, b"")

            def do_GET(self) -> None:  # noqa: N802
                outer.paths.append(self.path)
                body = routes.get(self.path)
                self._reply(200, body) if body is not None else self._reply(404, b"")

        self._listen(Handler)
        self.url += "/"
