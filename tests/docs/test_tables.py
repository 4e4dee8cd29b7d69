"""Reference tables of the documentation written by hand, checked against the code they
describe, so that they cannot drift from it: the defaults of ``ReadOptions`` and the
keys of ``storage_options``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from jetliner.exceptions import ConfigurationError
from jetliner.options import ReadOptions
from jetliner.storage import filesystem_options

API = Path(__file__).resolve().parents[2] / "docs" / "api"


def test_read_options_table_matches_the_dataclass() -> None:
    rows = {}
    for line in (API / "ReadOptions.md").read_text().splitlines():
        # | `name` | `type` | `default` | meaning |   (a | inside backticks is the type's)
        m = re.match(r"^\| `(\w+)` \| `([^`]+)` \| `([^`]+)` \|", line)
        if m:
            rows[m[1]] = (m[2], m[3])
    fields = {f.name: f for f in dataclasses.fields(ReadOptions)}
    assert list(rows) == list(fields), "the table's options differ from ReadOptions' fields"
    for name, (type_text, default_text) in rows.items():
        assert type_text == fields[name].type, f"{name}: type {type_text!r} on the page"
        value = eval(default_text, {"__builtins__": {}}, {"MiB": 1024 * 1024})  # noqa: S307
        assert value == fields[name].default, f"{name}: default {default_text!r} on the page"


def _documented_s3_keys() -> set[str]:
    text = (API / "storage_options.md").read_text()
    s3 = text[text.index("\n## S3\n"):]
    keys: set[str] = set()
    for line in s3.splitlines():
        cells = line.split("|")
        if line.startswith("| ") and len(cells) > 3:
            keys.update(re.findall(r"`(\w+)`", cells[2]))
    return keys


def test_storage_options_table_lists_the_s3_keys() -> None:
    s3fs = pytest.importorskip("s3fs")
    import inspect

    documented = _documented_s3_keys()
    assert len(documented) > 20
    for key in documented:  # every documented key is accepted
        value = ("http://localhost:9000" if "endpoint" in key else "30s" if "timeout" in key
                 else "3" if key == "max_retries" else "true")
        filesystem_options("s3", {key: value})
        filesystem_options("s3", {key.upper() if key != "max_retries" else key: value})
    with pytest.raises(ConfigurationError, match="known options are: ") as info:
        filesystem_options("s3", {"no_such_option": 1})
    known = set(str(info.value).split("known options are: ", 1)[1].split(", "))
    native = set(inspect.signature(s3fs.S3FileSystem.__init__).parameters)
    undocumented = known - documented - native
    # s3fs's own arguments are passed through by name and documented as such; jetliner
    # adds these fsspec instance arguments to them
    undocumented -= {"use_listings_cache", "listings_expiry_time", "max_paths",
                     "skip_instance_cache"}
    assert not undocumented, f"storage options missing from the reference: {undocumented}"
