"""jetliner: fast Avro reading and writing for Polars."""

from jetliner.exceptions import (
    AccessDeniedError,
    ArgumentTypeError,
    AuthenticationError,
    BadBlockError,
    CodecError,
    ConfigurationError,
    DecodeError,
    EncodeError,
    FileNotFoundError,
    JetlinerError,
    ParseError,
    PermissionError,
    RenamedFieldsWarning,
    SchemaError,
    SkippedDataWarning,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
    UnknownOptionError,
)
from jetliner.options import ReadOptions
from jetliner.readers import AvroReader, MultiAvroReader
from jetliner.resolve import plan_splits
from jetliner.sample import sample_path
from jetliner.scan import open, read_avro, read_avro_schema, scan, scan_avro
from jetliner.splits import Split
from jetliner.writing import sink_avro, write_avro

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "ArgumentTypeError",
    "AuthenticationError",
    "AvroReader",
    "BadBlockError",
    "CodecError",
    "ConfigurationError",
    "DecodeError",
    "EncodeError",
    "FileNotFoundError",
    "JetlinerError",
    "MultiAvroReader",
    "ParseError",
    "PermissionError",
    "ReadOptions",
    "RenamedFieldsWarning",
    "SchemaError",
    "SkippedDataWarning",
    "SourceChangedError",
    "SourceError",
    "SourceNotFoundError",
    "Split",
    "UnknownOptionError",
    "__version__",
    "open",
    "plan_splits",
    "read_avro",
    "read_avro_schema",
    "sample_path",
    "scan",
    "scan_avro",
    "sink_avro",
    "write_avro",
]


def __getattr__(name: str) -> object:
    # ``jetliner.ray`` (needs the ray extra) is imported on first use only
    if name == "ray":
        import importlib

        try:
            return importlib.import_module("jetliner.ray")
        except ImportError as exc:  # hasattr(jetliner, "ray") is False without Ray
            raise AttributeError(str(exc)) from exc
    msg = f"module 'jetliner' has no attribute {name!r}"
    raise AttributeError(msg)
