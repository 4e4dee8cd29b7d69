# cython: language_level=3
"""The plan format on the Python side: what a plan is made of, and error messages.

The opcodes (`Op`), column kinds (`ColKind`) and decoder error codes (`ErrorCode`)
are defined in ``jetliner/_plan.pxd`` and visible here as `enum.IntEnum` classes.
`jetliner.schema` compiles a schema into `PlanNode`, `ColumnLayout` and `ExportSpec`
values; `jetliner._decoder.Decoder` reads them by field name.
"""

from typing import NamedTuple

__all__ = ["DECODE_ERROR_MESSAGES", "DECODE_ERROR_VARIANTS", "NO_BRANCH", "BranchKid", "ColKind", "ColumnLayout", "ErrorCode",
           "ExportSpec", "Op", "PlanNode"]

# An OP_UNION_NULLABLE's branch index that no value carries (the union has no
# null branch, or no other branch).
NO_BRANCH = -99


class PlanNode(NamedTuple):
    """One node of a plan: one value to decode, skip or render.

    Attributes
    ----------
    op
        What the node decodes (an `Op`); what `param` and `param2` mean depends on it.
    col
        The output column the value goes to, -1 for none.
    kid0
        Where the node's children start in the plan's ``kids`` and ``kid_names``.
    nkids
        How many children it has.
    param, param2
        The opcode's parameters (see `Op` in ``jetliner/_plan.pxd``).
    minsz
        The fewest bytes one value occupies.  For the root node, zero or negative:
        values may take no bytes, each costing ``max(1, -minsz)`` units of the
        decoder's zero-byte budget.
    precision
        Decimals of at most 38 digits: the precision a value must fit; else 0.
    """

    op: int
    col: int
    kid0: int
    nkids: int
    param: int
    param2: int
    minsz: int
    precision: int


class ColumnLayout(NamedTuple):
    """One column buffer of a plan.

    Attributes
    ----------
    kind
        Its memory layout (a `ColKind`).
    elem
        Bytes per value for `ColKind.CK_FIXED`, else 0.
    """

    kind: int
    elem: int


class ExportSpec(NamedTuple):
    """How `Decoder.finish` exports one output column to Arrow.

    Attributes
    ----------
    col
        The column buffer's index in the plan's ``cols``.
    format
        The Arrow C Data Interface format string.
    name
        The field name.
    nullable
        Whether the Arrow field is nullable.
    children
        The child columns' specs (list items, struct fields).
    dictionary
        Enums: the symbols (the column holds indices into them); else None.
    """

    col: int
    format: bytes
    name: bytes
    nullable: bool
    children: list
    dictionary: object


# Why a record failed, by decoder error code.
DECODE_ERROR_MESSAGES = {
    E_EOF: "the record's bytes end before the record does (truncated block, or data that "
           "does not match the writer schema)",
    E_VARINT: "malformed variable-length integer (longer than 10 bytes or overflowing 64 bits)",
    E_INT_RANGE: "an 'int' value does not fit in 32 bits",
    E_NEG_LEN: "a string or bytes value has a negative length",
    E_UTF8: "a string value is not valid UTF-8 (invalid_utf8='replace' reads it with U+FFFD "
            "in place of the bad bytes)",
    E_ENUM: "an enum index is out of range for the enum's symbols",
    E_UNION: "a union branch index is out of range for the union",
    E_COUNT: "an item count is negative or larger than the bytes left in the block can hold",
    E_DEPTH: "nested data is deeper than max_nesting_depth (default 100 000 levels)",
    E_NOMEM: "out of memory while decoding (or one string/bytes value of 2 GiB or more, "
             "more than Arrow can hold)",
    E_DECIMAL: "a decimal value does not fit its declared precision",
    E_BUDGET: "the block claims more zero-byte values (nulls, empty records) than "
              "max_zero_byte_values allows per batch (default 2^26; raise it for data that "
              "really holds that many)",
    E_BIGDEC: "malformed big-decimal value",
    E_BOOL: "a boolean byte is neither 0 nor 1",
    E_TIME: "a time-millis/time-micros value is outside the 24 hours of a day",
    E_ENUM_UNRESOLVED: "an enum symbol of the writer schema is not in the reader schema's "
                       "enum, which has no 'default' symbol to read it as (add the symbol, "
                       "or a default, to the reader schema)",
    E_UNION_UNRESOLVED: "a union branch of the writer schema matches no type of the reader "
                        "schema (add a branch that reads it to the reader schema)",
}

# The `variant` of the `DecodeError` each code raises (a short machine-readable kind,
# the names jetliner 0.2.0 used where it had one).
DECODE_ERROR_VARIANTS = {
    E_EOF: "UnexpectedEof",
    E_VARINT: "InvalidVarint",
    E_INT_RANGE: "InvalidData",
    E_NEG_LEN: "InvalidData",
    E_UTF8: "InvalidData",
    E_ENUM: "InvalidData",
    E_UNION: "InvalidData",
    E_COUNT: "InvalidData",
    E_DEPTH: "LimitExceeded",
    E_NOMEM: "OutOfMemory",
    E_DECIMAL: "InvalidData",
    E_BUDGET: "LimitExceeded",
    E_BIGDEC: "InvalidData",
    E_BOOL: "InvalidData",
    E_TIME: "InvalidData",
    E_ENUM_UNRESOLVED: "SchemaResolution",
    E_UNION_UNRESOLVED: "SchemaResolution",
}
