"""A real S3-compatible server (moto, in server mode, in its own process) on
127.0.0.1, a clean AWS environment for every test, and helpers to fill buckets."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

sys.path.append(str(Path(__file__).parent))  # faultproxy.py, s3util.py (after tests/)

from s3util import KEY_ID, SECRET  # noqa: E402

import jetliner.storage  # noqa: E402

_BUCKETS = itertools.count()
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in _PROXY_VARS}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@pytest.fixture(scope="session")
def s3_server() -> Iterator[tuple[str, int]]:
    """``(endpoint URL, port)`` of a moto S3 server started for this test session."""
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


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings from the host: no AWS_* variables, empty config files, no
    instance metadata lookups (network stays on loopback).  Returns a folder for
    config files."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in _PROXY_VARS:
            monkeypatch.delenv(name)
    folder = tmp_path / "aws"
    folder.mkdir()
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return folder


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the retry sleep: record the backoff schedule instead of waiting."""
    recorded: list[float] = []
    monkeypatch.setattr(jetliner.storage, "_sleep", recorded.append)
    return recorded


@pytest.fixture(scope="session")
def s3_client(s3_server: tuple[str, int]):
    """A boto3 client talking straight to the server (not through any proxy)."""
    return boto3.client("s3", endpoint_url=s3_server[0], aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, region_name="us-east-1")


@pytest.fixture
def bucket(s3_client) -> str:
    """A fresh, empty bucket for the test."""
    name = f"bucket-{next(_BUCKETS)}"
    s3_client.create_bucket(Bucket=name)
    return name
