"""Shared fixtures: the corpus folder (skipped when absent), an Avro file writer, and a
loopback S3 server (moto) for the remote tests and the documentation examples."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/matching.py

# Local Ray clusters (tests/remote/test_ray.py, the docs' Ray example): no usage
# report over the network, and one authentication token for every cluster this
# process starts.  Ray otherwise keeps the token of its first cluster in memory
# and reads the next cluster's from ~/.ray, which the docs tests move (HOME).
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_TOKEN", os.urandom(24).hex())

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_files(kind: str) -> list[Path]:
    """Files of ``../shared/corpus/<kind>``; empty when the corpus is absent."""
    folder = CORPUS / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


def write_avro(schema: Any, records: list[Any], **kw: Any) -> bytes:
    """Avro container bytes written by fastavro."""
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records, **kw)
    return buf.getvalue()


@pytest.fixture
def avro_file(tmp_path: Path):
    """Write records with fastavro into a temporary file; returns its path."""
    counter = iter(range(10**6))

    def make(schema: Any, records: list[Any], **kw: Any) -> Path:
        path = tmp_path / f"f{next(counter)}.avro"
        path.write_bytes(write_avro(schema, records, **kw))
        return path

    return make


PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in PROXY_VARS}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@pytest.fixture(scope="session")
def s3_server() -> Iterator[tuple[str, int]]:
    """``(endpoint URL, port)`` of a moto S3 server started for this test session
    on 127.0.0.1 (shared by ``tests/remote`` and ``tests/docs``)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the moto S3 server did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", port
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def zigzag(n: int) -> bytes:
    """Avro's zig-zag varint encoding of `n` (written here, independently of jetliner)."""
    z = (n << 1) ^ (n >> 63)
    z &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def avro_bytes(b: bytes) -> bytes:
    """Avro encoding of a bytes/string value: length, then the bytes."""
    return zigzag(len(b)) + b


SYNC = b"0123456789abcdef"


def container(schema: Any, blocks: list[tuple[int, bytes]], meta: dict[str, bytes] | None = None,
              codec: str | None = None, sync: bytes = SYNC) -> bytes:
    """A hand-built object container file: header, then (count, raw payload) blocks."""
    import json

    entries = {"avro.schema": json.dumps(schema).encode()}
    if codec is not None:
        entries["avro.codec"] = codec.encode()
    entries.update(meta or {})
    out = bytearray(b"Obj\x01")
    out += zigzag(len(entries))
    for k, v in entries.items():
        out += avro_bytes(k.encode()) + avro_bytes(v)
    out += zigzag(0) + sync
    for count, payload in blocks:
        out += zigzag(count) + zigzag(len(payload)) + payload + sync
    return bytes(out)
