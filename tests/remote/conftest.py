"""A clean AWS environment for every remote test, and helpers to fill buckets on the
moto S3 server (the ``s3_server`` fixture of ``tests/conftest.py``, shared with the
documentation examples)."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import boto3
import pytest

sys.path.append(str(Path(__file__).parent))  # faultproxy.py, s3util.py (after tests/)

from s3util import KEY_ID, SECRET  # noqa: E402

import jetliner.storage  # noqa: E402

_BUCKETS = itertools.count()
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


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
