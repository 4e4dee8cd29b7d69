"""The plan format: named opcodes, column kinds and error codes, each error with a message."""

from __future__ import annotations

import re
from pathlib import Path

from jetliner._plan import (
    DECODE_ERROR_MESSAGES,
    DECODE_ERROR_VARIANTS,
    ColKind,
    ErrorCode,
    Op,
    PlanNode,
)
from jetliner.schema import compile_plan, parse_schema

SOURCES = Path(__file__).resolve().parents[2] / "jetliner"


def test_every_error_code_has_a_message() -> None:
    codes = set(ErrorCode) - {ErrorCode.E_OK}
    assert set(DECODE_ERROR_MESSAGES) == codes == set(DECODE_ERROR_VARIANTS)
    assert all(DECODE_ERROR_MESSAGES[code].strip() for code in codes)
    assert all(DECODE_ERROR_VARIANTS[code].isidentifier() for code in codes)


def test_every_error_code_the_compiled_code_names_is_a_member() -> None:
    """The compiled modules fail with named codes only (a misspelt name does not compile,
    a bare number would bypass the messages)."""
    used = set()
    for path in [*SOURCES.glob("*.pyx"), *SOURCES.glob("*.pxd")]:
        used |= set(re.findall(r"\bE_[A-Z0-9_]+\b", path.read_text()))
    assert used, "no error code found in the compiled sources"
    assert used <= set(ErrorCode.__members__)


def test_enums_are_distinct_and_leaves_come_first() -> None:
    for enum in (Op, ColKind, ErrorCode):
        assert len({int(m) for m in enum}) == len(enum.__members__)
    # the decoder walks opcodes up to OP_ENUM without a stack frame
    leaves = {Op.OP_NULL, Op.OP_BOOL, Op.OP_INT, Op.OP_LONG, Op.OP_FLOAT, Op.OP_DOUBLE,
              Op.OP_STRING, Op.OP_BYTES, Op.OP_FIXED, Op.OP_ENUM}
    assert {op for op in Op if op <= Op.OP_ENUM} == leaves


def test_plans_hold_named_nodes() -> None:
    plan = compile_plan(parse_schema({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"}, {"name": "b", "type": ["null", "string"]}]}))
    assert all(isinstance(n, PlanNode) for n in plan.nodes)
    root = plan.nodes[plan.root]
    assert root.op == Op.OP_RECORD and root.nkids == 2
    assert [c.kind for c in plan.cols] == [ColKind.CK_FIXED, ColKind.CK_VAR]
    assert [s.name for s in plan.export] == [b"a", b"b"]
    assert [s.nullable for s in plan.export] == [False, True]
