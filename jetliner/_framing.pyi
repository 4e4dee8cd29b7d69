from typing_extensions import Buffer

OK: int
NEED_MORE: int
BAD_VARINT: int
NEG_COUNT: int
NEG_SIZE: int
BAD_SYNC: int

def frame_window(
    window: Buffer, base: int, sync: bytes, out: list[tuple[int, int, int, int]],
) -> tuple[int, int, int]: ...

def read_long_at(data: Buffer, offset: int) -> tuple[int, int, int]: ...
