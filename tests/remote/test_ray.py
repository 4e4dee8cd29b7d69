"""jetliner.ray on a local Ray cluster (2 CPUs, loopback only), reading local files
and objects of the loopback S3 server; values compared with fastavro's reading."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import fastavro
import polars as pl
import pytest
from s3util import KEY_ID, SECRET, avro, expected

import jetliner

ray = pytest.importorskip("ray")
jray = pytest.importorskip("jetliner.ray")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # A local cluster: Ray's processes talk over this machine's own address
    # (Ray replaces 127.0.0.1 by it); nothing leaves the machine.  Ray puts the
    # driver's current directory first on its workers' sys.path: started from a
    # source checkout, they would import its uncompiled jetliner instead of the
    # installed one, so the cluster starts from an empty folder.
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray"))
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    finally:
        os.chdir(here)
    try:
        yield
    finally:
        ray.shutdown()


def frame(ds) -> pl.DataFrame:  # noqa: ANN001 - ray.data.Dataset
    tables = ray.get(ds.to_arrow_refs())
    return pl.concat([pl.from_arrow(t) for t in tables]) if tables else pl.DataFrame()


def s3_options(s3_server: tuple[str, int]) -> dict[str, object]:
    return {"endpoint": s3_server[0], "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET, "max_retries": 0}


def test_local_files_one_task_per_split(cluster: None, tmp_path: Path) -> None:
    data = avro(6000, seed=1, codec="snappy", sync_interval=2000)
    path = tmp_path / "a.avro"
    path.write_bytes(data)
    split_size = len(data) // 5 + 1
    source = jray.AvroDatasource(str(path), split_size=split_size)
    assert len(source.splits) == 5
    assert len(source.get_read_tasks(100)) == 5  # one task per split, at most
    grouped = source.get_read_tasks(2)  # consecutive splits share a task
    assert [t.metadata.size_bytes for t in grouped] == [
        sum(s.end - s.start for s in source.splits[:2]),
        sum(s.end - s.start for s in source.splits[2:])]
    assert pl.concat([pl.from_arrow(t) for task in grouped for t in task()]).equals(
        expected(data))
    ds = jray.read_avro(str(path), split_size=split_size)
    got = frame(ds).sort("user_id")
    assert got.equals(expected(data))
    assert ds.count() == 6000


def test_s3_columns_and_filter_inside_the_tasks(cluster: None, s3_server, s3_client,
                                                bucket) -> None:
    bodies = {k: avro(5000, seed=k, codec="deflate", sync_interval=4000) for k in (1, 2, 3)}
    for k, body in bodies.items():
        s3_client.put_object(Bucket=bucket, Key=f"ev/{k}.avro", Body=body)
    # the filter uses a column that is not returned
    ds = jray.read_avro(f"s3://{bucket}/ev/*.avro", columns=["note", "user_id"],
                        filter=pl.col("amount") < 100, storage_options=s3_options(s3_server),
                        split_size=30_000, override_num_blocks=4)
    want = pl.concat([expected(b).with_columns(f=pl.lit(k)) for k, b in bodies.items()])
    want = want.filter(pl.col("amount") < 100).select("note", "user_id", "f")
    got = frame(ds)
    assert got.columns == ["note", "user_id"]
    assert got.height == want.height
    assert got.sort("user_id", "note").equals(want.drop("f").sort("user_id", "note"))
    assert ds.schema().names == ["note", "user_id"]


def test_errors_are_raised_on_the_driver(cluster: None, tmp_path: Path) -> None:
    path = tmp_path / "a.avro"
    path.write_bytes(avro(10))
    with pytest.raises(jetliner.SourceNotFoundError):
        jray.read_avro(str(tmp_path / "missing.avro"))
    with pytest.raises(jetliner.ConfigurationError, match="do not fit"):
        jray.read_avro(str(path), filter=pl.col("nope") > 1)
    with pytest.raises(jetliner.ConfigurationError, match="n_rows"):
        jray.read_avro(str(path), n_rows=5)
    with pytest.raises(jetliner.ConfigurationError, match="filter must be"):
        jray.read_avro(str(path), filter="amount > 1")  # type: ignore[arg-type]
    with pytest.raises(jetliner.ConfigurationError):
        jray.read_avro(str(path), batch_size=0)


def test_a_filter_that_keeps_nothing(cluster: None, tmp_path: Path) -> None:
    path = tmp_path / "a.avro"
    path.write_bytes(avro(500))
    ds = jray.read_avro(str(path), filter=pl.col("amount") < 0)
    assert ds.count() == 0
    assert ds.schema().names == ["user_id", "amount", "status", "note"]


def test_filters_by_pattern_or_type_and_mixed_schemas(cluster: None, tmp_path: Path) -> None:
    path = tmp_path / "a.avro"
    data = avro(800, seed=4)
    path.write_bytes(data)
    want = expected(data)
    # a filter naming its columns by type or pattern decodes what it needs
    for flt in (pl.col(pl.Float64) < 100, pl.col("^amo.*$") < 100):
        got = frame(jray.read_avro(str(path), columns=["user_id"], filter=flt)).sort("user_id")
        assert got.equals(want.filter(pl.col("amount") < 100).select("user_id"))
    # a second file with another schema fails its task, as read_avro fails
    other = tmp_path / "b.avro"
    buf = io.BytesIO()
    fastavro.writer(buf, {"type": "record", "name": "X", "fields": [
        {"name": "user_id", "type": "long"}]}, [{"user_id": 1}])
    other.write_bytes(buf.getvalue())
    with pytest.raises(Exception, match="must share their schema"):
        jray.read_avro([str(path), str(other)]).materialize()


def test_hive_options_and_partitioned_folders_are_refused(cluster: None,
                                                          tmp_path: Path) -> None:
    # its read tasks add no partition columns: refused, not read without them
    (tmp_path / "day=1").mkdir()
    (tmp_path / "day=1" / "a.avro").write_bytes(avro(10))
    for option, value in (("hive_partitioning", True), ("hive_schema", {"day": pl.Int8}),
                          ("try_parse_hive_dates", False), ("hidden_file_prefix", "_")):
        with pytest.raises(jetliner.ConfigurationError, match=option):
            jray.read_avro(str(tmp_path / "day=1" / "a.avro"), **{option: value})
    with pytest.raises(jetliner.ConfigurationError, match="Hive partitions"):
        jray.read_avro(str(tmp_path))
    # a folder without partitions is read file by file
    flat = tmp_path / "day=1"
    assert frame(jray.read_avro(str(flat))).height == 10
