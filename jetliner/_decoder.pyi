from collections.abc import Sequence

from typing_extensions import Buffer

from jetliner.schema import ExportSpec

class DecodeFailure(Exception):
    code: int
    offset: int
    record: int
    def __init__(self, code: int, offset: int, record: int) -> None: ...

class ArrowBatch:
    @property
    def length(self) -> int: ...
    def __arrow_c_array__(
        self, requested_schema: object | None = None
    ) -> tuple[object, object]: ...

class Decoder:
    @property
    def rows(self) -> int: ...
    def __init__(
        self,
        nodes: Sequence[tuple[int, ...]],
        kids: Sequence[int],
        kid_names: Sequence[int],
        cols: Sequence[tuple[int, int]],
        strings: Sequence[bytes],
        root: int,
        max_depth: int = 100_000,
        zero_byte_budget: int = 1 << 26,
        utf8_replace: bool = False,
    ) -> None: ...
    def check_block(self, count: int, nbytes: int) -> None: ...
    def decode(self, data: Buffer, offset: int, count: int, block_size: int = -1) -> int: ...
    def finish(self, spec: Sequence[ExportSpec]) -> ArrowBatch: ...
    def discard(self) -> None: ...

def _set_seal_threshold(n: int) -> int: ...
def _set_value_limit(n: int) -> int: ...

def read_long_at(data: Buffer, offset: int) -> tuple[int, int]: ...
