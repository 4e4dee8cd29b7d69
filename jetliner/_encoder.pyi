"""Type stubs of the compiled encoder (`jetliner/_encoder.pyx`)."""

from enum import IntEnum
from typing import Any, overload

class EncodeOp(IntEnum):
    EO_NULL = 0
    EO_BOOL = 1
    EO_INT = 2
    EO_FLOAT = 3
    EO_DOUBLE = 4
    EO_STRING = 5
    EO_BYTES = 6
    EO_DECIMAL = 7
    EO_ARRAY = 8
    EO_MAP = 9
    EO_RECORD = 10
    EO_ENUM = 11
    EO_FIXED = 12

ENCODE_ERRORS: dict[int, str]

class EncodeBuffer:
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

class Encoder:
    rows: int
    def __init__(self, plan: list[tuple[Any, ...]], kids: list[int], frame: Any) -> None: ...
    @overload
    def encode(self, start: int = 0, stop: int = -1, size_hint: int = 0,
               into: None = None) -> bytes: ...
    @overload
    def encode(self, start: int = 0, stop: int = -1, size_hint: int = 0, *,
               into: EncodeBuffer) -> int: ...
