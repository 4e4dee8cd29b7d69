"""Files jetliner writes, read by the reference implementations: Apache Avro's Java
library (Debian's ``libavro-java``, Avro 1.8.2) and Avro C's ``avrocat`` (Debian's
``avro-bin``).  Their output is compared value by value with the frame written.

Both are system packages: ``.ci/run`` installs them with apt.  Where they cannot be had
the tests skip, saying which package is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import jetliner

JAVA_DIR = Path("/usr/share/java")
JARS = ["avro.jar", "jackson-core-asl.jar", "jackson-mapper-asl.jar", "snappy-java.jar",
        "commons-compress.jar", "xz.jar", "slf4j-api.jar", "slf4j-nop.jar"]
E = pl.Enum(["red", "green", "blue"])


def frame(n: int, seed: int) -> pl.DataFrame:
    """`n` rows of the types the comparison covers, nested too, with nulls."""
    rng = random.Random(seed)

    def maybe(v: Any) -> Any:
        return None if rng.random() < 0.15 else v

    def word() -> str:
        return "".join(rng.choice("abcxyz é\"\\") for _ in range(rng.randrange(0, 12)))

    rows = [{
        "id": maybe(rng.randrange(-(2**63), 2**63)),
        "small": maybe(rng.randrange(-(2**31), 2**31)),
        "amount": maybe(rng.uniform(-1e9, 1e9)),
        "ratio": maybe(rng.choice([0.5, -2.25, 1024.0])),
        "flag": maybe(rng.random() < 0.5),
        "name": maybe(word()),
        "raw": maybe("".join(rng.choice("abc012") for _ in range(rng.randrange(6))).encode()),
        "color": maybe(rng.choice(["red", "green", "blue"])),
        "day": maybe(dt.date(1970, 1, 1) + dt.timedelta(days=rng.randrange(-40_000, 40_000))),
        "at": maybe(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
                    + dt.timedelta(microseconds=rng.randrange(-10**15, 10**15))),
        "tags": maybe([maybe(rng.randrange(100)) for _ in range(rng.randrange(4))]),
        "nested": maybe([[word() for _ in range(rng.randrange(3))]
                         for _ in range(rng.randrange(3))]),
        "attrs": maybe({word(): maybe(rng.randrange(10)) for _ in range(rng.randrange(3))}),
        "point": maybe({"x": maybe(rng.uniform(-1, 1)), "ys": maybe([rng.randrange(9)])}),
    } for _ in range(n)]
    return pl.DataFrame(rows, schema={
        "id": pl.Int64, "small": pl.Int32, "amount": pl.Float64, "ratio": pl.Float32,
        "flag": pl.Boolean, "name": pl.String, "raw": pl.Binary, "color": E, "day": pl.Date,
        "at": pl.Datetime("us", "UTC"), "tags": pl.List(pl.Int64),
        "nested": pl.List(pl.List(pl.String)), "attrs": pl.Map(pl.String, pl.Int64),
        "point": pl.Struct({"x": pl.Float64, "ys": pl.List(pl.Int32)}),
    })


def expected_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as the Avro values a generic reader sees: logical types as
    their numbers, maps as dicts."""
    physical = df.with_columns(pl.col("day", "at").to_physical())
    rows = physical.to_dicts()
    for row in rows:
        if row["attrs"] is not None:
            row["attrs"] = dict(row["attrs"])
    return rows


def unwrap(schema: Any, value: Any, names: dict[str, Any]) -> Any:
    """Avro's JSON encoding (unions as ``{"branch": value}``) to plain values."""
    if isinstance(schema, str) and schema in names:
        schema = names[schema]
    if isinstance(schema, list):
        if value is None:
            return None
        (branch_name, inner), = value.items()
        for branch in schema:
            label = branch if isinstance(branch, str) else branch.get("name", branch["type"])
            if label == branch_name or (isinstance(branch, dict) and branch.get("type") ==
                                        branch_name and "name" not in branch):
                return unwrap(branch, inner, names)
        raise AssertionError(f"no branch {branch_name!r} in {schema}")
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind == "record":
            names[schema["name"]] = schema
            return {f["name"]: unwrap(f["type"], value[f["name"]], names)
                    for f in schema["fields"]}
        if kind == "array":
            return [unwrap(schema["items"], v, names) for v in value]
        if kind == "map":
            return {k: unwrap(schema["values"], v, names) for k, v in value.items()}
        if kind == "enum":
            names[schema["name"]] = schema
            return value
        return unwrap(kind, value, names)
    return value


def same(ours: Any, theirs: Any, path: str = "") -> None:
    """Values equal, floats to the precision of their type, bytes in either rendering."""
    if isinstance(ours, bytes):
        if isinstance(theirs, dict):  # Java: {"bytes": "..."}
            theirs = theirs["bytes"]
        assert theirs.encode("latin-1") == ours, path
    elif isinstance(ours, float):
        assert isinstance(theirs, (int, float)) and abs(theirs - ours) <= 1e-6 * max(
            1.0, abs(ours)), (path, ours, theirs)
    elif isinstance(ours, dict):
        assert isinstance(theirs, dict) and set(ours) == set(theirs), (path, ours, theirs)
        for k in ours:
            same(ours[k], theirs[k], f"{path}.{k}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and len(ours) == len(theirs), (path, ours, theirs)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, (path, ours, theirs)


@pytest.fixture(scope="session")
def java(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command that prints a file's records with the Java library."""
    missing = [j for j in JARS if not (JAVA_DIR / j).exists()]
    if missing or not shutil.which("javac") or not shutil.which("java"):
        pytest.skip("the Java reference reader needs Debian's libavro-java and a JDK "
                    f"(apt-get install libavro-java default-jdk-headless); missing: "
                    f"{missing or 'javac/java'}")
    out = tmp_path_factory.mktemp("java")
    cp = ":".join(str(JAVA_DIR / j) for j in JARS)
    subprocess.run(["javac", "-d", str(out), "-cp", cp,
                    str(Path(__file__).with_name("ReadAvro.java"))], check=True, timeout=300)
    return ["java", "-cp", f"{out}:{cp}", "ReadAvro"]


@pytest.fixture(scope="session")
def avrocat() -> str:
    path = shutil.which("avrocat")
    if path is None:
        pytest.skip("Avro C's avrocat is not installed (apt-get install avro-bin)")
    return path


def written(tmp_path: Path, codec: str, seed: int) -> tuple[pl.DataFrame, Path]:
    df = frame(300, seed)
    path = tmp_path / f"{codec}-{seed}.avro"
    jetliner.write_avro(df, path, codec=codec, block_size=4096)
    return df, path


def lines(cmd: list[str]) -> list[Any]:
    done = subprocess.run(cmd, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]


# Avro 1.8.2 (Java) predates zstandard
@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "bzip2", "xz"])
def test_the_java_library_reads_what_jetliner_writes(java, tmp_path: Path, codec: str) -> None:
    df, path = written(tmp_path, codec, seed=len(codec))
    theirs = lines([*java, str(path)])
    same(expected_rows(df), theirs)


# Avro C reads null, deflate and snappy; it names its xz codec "lzma" (not the
# specification's "xz"), so it reads no writer's xz files, and has no bzip2 or zstandard
@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_avro_c_reads_what_jetliner_writes(avrocat, tmp_path: Path, codec: str) -> None:
    df, path = written(tmp_path, codec, seed=10 + len(codec))
    with path.open("rb") as f:
        import fastavro

        schema = fastavro.reader(f).writer_schema
    theirs = [unwrap(schema, row, {}) for row in lines([avrocat, str(path)])]
    same(expected_rows(df), theirs)
