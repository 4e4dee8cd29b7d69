"""The world the documentation examples run in: the files, buckets and objects they
name, a loopback S3 server (``s3_server`` of ``tests/conftest.py``) and a loopback
HTTP server.  See ``test_examples.py`` for the rules."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import fastavro
import pytest

sys.path.append(str(Path(__file__).parents[1] / "remote"))  # s3util.py

from s3util import StaticHTTPServer  # noqa: E402

import jetliner  # noqa: E402

EVENTS_SCHEMA = {
    "type": "record", "name": "Event", "namespace": "example",
    "fields": [
        {"name": "user_id", "type": "long"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "status", "type": {"type": "enum", "name": "Status",
                                    "symbols": ["active", "inactive", "banned"]}},
        {"name": "amount", "type": "double"},
        {"name": "country", "type": "string"},
        {"name": "note", "type": ["null", "string"]},
    ],
}
SYNC_MARKER = bytes.fromhex("6a65746c696e6572206578616d706c65")
DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]
ROWS_PER_DAY = 2_000
BUCKET = "my-bucket"
# Objects of the S3 examples (bucket my-bucket, versioning on): key -> local file.
S3_OBJECTS = {f"events/{day}.avro": f"events/{day}.avro" for day in DAYS} | {
    "events/archive/2023-12-31.avro": "events/archive/2023-12-31.avro",
    # the README's
    "data/part-0.avro": "events/2024-01-01.avro",
    "data/part-1.avro": "events/2024-01-02.avro",
}
# Objects of the HTTP(S) examples: URL path -> local file.
HTTP_FILES = {f"/events/{day}.avro": f"events/{day}.avro" for day in DAYS}
# Credentials of the loopback S3 server (moto accepts any).
KEY_ID, SECRET = "AKIADOCSEXAMPLES0001", "docs-examples-secret"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", None}
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def events(day: str, n: int) -> list[dict[str, Any]]:
    """`n` events of `day`, in time order, from a generator seeded by the day."""
    rng = random.Random(day)
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    offsets = sorted(rng.randrange(86_400_000) for _ in range(n))
    notes = ["gift", "refund requested", "first order", "via partner"]
    return [{
        "user_id": rng.randrange(1, 5_000),
        "ts": start + dt.timedelta(milliseconds=ms),
        "status": rng.choices(["active", "inactive", "banned"], weights=[8, 3, 1])[0],
        "amount": round(rng.uniform(1, 500), 2),
        "country": rng.choice(["BR", "DE", "FR", "GB", "JP", "US"]),
        "note": rng.choice(notes) if rng.random() < 0.2 else None,
    } for ms in offsets]


def write(path: Path, schema: Any, records: list[Any], **kw: Any) -> bytes:
    """Write an Avro file with fastavro; a fixed sync marker keeps every byte the same
    from run to run (outputs shown in the docs print it)."""
    buf = io.BytesIO()
    kw.setdefault("sync_marker", SYNC_MARKER)
    fastavro.writer(buf, fastavro.parse_schema(schema), records, **kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def damage(data: bytes) -> bytes:
    """Overwrite 8 bytes in the middle of the second block (a decoding error there)."""
    sync = data[-16:]
    ends = [i for i in range(len(data) - 15) if data[i:i + 16] == sync]
    middle = (ends[1] + ends[2]) // 2
    return data[:middle] + b"\xff" * 8 + data[middle + 8:]


@pytest.fixture(scope="session")
def docs_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding every local file the examples name (copied for each page)."""
    root = tmp_path_factory.mktemp("docs-files")
    for day in DAYS:
        write(root / "events" / f"{day}.avro", EVENTS_SCHEMA, events(day, ROWS_PER_DAY),
              codec="snappy", sync_interval=16_000, metadata={"producer": "checkout-service"})
    write(root / "events" / "archive" / "2023-12-31.avro", EVENTS_SCHEMA,
          events("2023-12-31", 1_000), codec="snappy", sync_interval=16_000)
    # the README's examples
    shutil.copy(root / "events" / f"{DAYS[0]}.avro", root / "events.avro")
    big = [e for i in range(4) for e in events(f"2024-02-0{i + 1}", 25_000)]
    write(root / "big.avro", EVENTS_SCHEMA, big, codec="snappy")
    write(root / "file.avro", {"type": "record", "name": "Row", "fields": [
        {"name": "a", "type": "long"}, {"name": "b", "type": "string"},
        {"name": "c", "type": "double"}]},
        [{"a": i, "b": f"row {i}", "c": i / 4} for i in range(1_500)])
    # the error-handling examples
    data = write(root / "damaged.avro", EVENTS_SCHEMA, events("2024-01-09", 2_000),
                 sync_interval=4_000)
    (root / "damaged.avro").write_bytes(damage(data))
    shutil.copy(jetliner.sample_path(), root / "users.avro")
    # the CLI's `schemas` example: sign-ups whose schema gained a field and a wider type
    old = {"type": "record", "name": "Signup", "namespace": "shop", "fields": [
        {"name": "id", "type": "long"}, {"name": "name", "type": "string"},
        {"name": "age", "type": "int"}]}
    new = {**old, "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                             {"name": "age", "type": "long"},
                             {"name": "email", "type": ["null", "string"], "default": None}]}
    for n, schema in enumerate([old, old, new], 1):
        write(root / "signups" / f"2024-01-0{n}.avro", schema,
              [{"id": n, "name": "a", "age": 30, "email": None}])
    return root


@pytest.fixture(scope="session")
def docs_s3(s3_server: tuple[str, int], docs_files: Path) -> str:
    """The loopback S3 server's URL, its bucket filled with the examples' objects.

    The bucket keeps versions; ``events/2024-01-01.avro`` has an older version
    (its first 500 events) under the current one.
    """
    url = s3_server[0]
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=KEY_ID,
                      aws_secret_access_key=SECRET, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    old = io.BytesIO()
    fastavro.writer(old, fastavro.parse_schema(EVENTS_SCHEMA), events(DAYS[0], 500),
                    codec="snappy")
    s3.put_object(Bucket=BUCKET, Key=f"events/{DAYS[0]}.avro", Body=old.getvalue())
    for key, local in S3_OBJECTS.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=(docs_files / local).read_bytes())
    return url


@pytest.fixture(scope="session")
def docs_http(docs_files: Path) -> Iterator[str]:
    """URL of a loopback HTTP server (ranged reads, an ETag) serving `HTTP_FILES`."""
    files = {path: (docs_files / local).read_bytes() for path, local in HTTP_FILES.items()}
    with StaticHTTPServer(files, etag='"docs-v1"') as server:
        yield server.url


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docs_files: Path, docs_s3: str,
             docs_http: str) -> Iterator[dict[str, str]]:
    """A fresh working folder, home folder and AWS environment for one page."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in _PROXY_VARS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(f"[default]\nendpoint_url = {docs_s3}\n")
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    shutil.copytree(docs_files, work)
    monkeypatch.chdir(work)

    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):  # noqa: ANN001, ANN202
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOCAL_HOSTS:
            msg = f"documentation tests stay on loopback: {name}"
            raise socket.gaierror(socket.EAI_NONAME, msg)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    yield {"s3": docs_s3, "http": docs_http, "home": str(home)}
