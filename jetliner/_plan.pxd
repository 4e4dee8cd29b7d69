# The plan format, defined once: the opcodes, column kinds and decoder error codes
# (named enums, also visible from Python through jetliner._plan), and the node as
# the decoder holds it.  The compiler (jetliner/schema.py) emits plans in this
# format and the decoder (jetliner/_decoder.pyx) executes them; both use the names
# only, never the numbers.  jetliner/_plan.pyx adds the Python side: the named
# tuples a plan is made of and the message of every error code.

from libc.stdint cimport int32_t, int64_t, uint64_t


# What a node decodes.  The opcodes up to OP_ENUM are leaves (one value, no
# child nodes): the decoder walks those without a stack frame, so keep every leaf
# before OP_ENUM and every other opcode after it.
cpdef enum Op:
    OP_NULL = 0
    OP_BOOL = 1
    OP_INT = 2
    OP_LONG = 3
    OP_FLOAT = 4
    OP_DOUBLE = 5
    OP_STRING = 6
    OP_BYTES = 7
    OP_FIXED = 8            # param: the size in bytes
    OP_ENUM = 9             # param: the number of symbols; param2 (walkers): the first
                            # symbol's index in the plan's strings
    OP_INT_SCALED = 10      # a time of day; param: the unit in nanoseconds
    OP_LONG_SCALED = 11     # a time of day; param: the unit in nanoseconds
    OP_DEC_BYTES = 12       # decimal -> 128-bit; param2: the scale; precision
    OP_DEC_FIXED = 13       # the same, fixed; param: the size
    OP_DEC_BYTES_STR = 14   # decimal -> exact text; param2: the scale
    OP_DEC_FIXED_STR = 15   # the same, fixed; param: the size
    OP_BIGDEC = 16          # big-decimal (scale in the value) -> exact text
    OP_UUID_FIXED = 17      # fixed(16) -> the uuid's text
    OP_DURATION = 18        # param: the first of the three UInt32 columns
    OP_RECORD = 19          # kids: the fields; kid_names (walkers): the JSON keys
    OP_ARRAY = 20           # kids: the item; param2: an item's size (see minsz)
    OP_MAP = 21             # kids: key, value (walkers: value); param: the entries
                            # struct column; param2: an entry's size
    OP_UNION_NULLABLE = 22  # kids: the value's node; param: the null branch's index;
                            # param2: the value branch's index (NO_BRANCH: none)
    OP_UNION = 23           # kids: one node per branch, -1 for the null branch
    OP_SKIP = 24            # kids: the walker node of the unprojected value
    OP_JSON = 25            # kids: the walker node rendered as JSON text
    OP_JSON_NULLABLE = 26   # kids: a walker union node; param: its null branch
    # Schema resolution (a writer schema read through a reader schema): promotions
    # read the writer's encoding into the reader's wider column
    OP_INT_TO_LONG = 27
    OP_INT_TO_FLOAT = 28
    OP_INT_TO_DOUBLE = 29
    OP_LONG_TO_FLOAT = 30
    OP_LONG_TO_DOUBLE = 31
    OP_FLOAT_TO_DOUBLE = 32
    OP_ENUM_MAP = 33        # a writer enum read as the reader's: param: the writer's
                            # number of symbols; param2: the index in the plan's strings
                            # of a table of int32 (little-endian), writer symbol index ->
                            # reader symbol index, -1 for a symbol the reader cannot read
    OP_DEFAULT = 34         # a reader field the writer lacks: reads no input; kids: the
                            # node decoding the reader's type; param: the index in the
                            # plan's strings of the default's Avro encoding; param2: the
                            # zero-byte budget units one fill costs
    OP_UNION_DISPATCH = 35  # a writer union read as a reader non-union or ["null", T]:
                            # kids: per writer branch the node reading it, NULL_BRANCH (a
                            # null) or NO_MATCH (no reader branch reads it); param: the
                            # node nulled for a null (-1: none)
    OP_UNION_BRANCHES = 36  # a writer union read as a reader union of several non-null
                            # branches (a struct column): kids: first `param` entries, per
                            # writer branch the node reading it (or NULL_BRANCH, NO_MATCH),
                            # then per reader non-null branch the node nulled when another
                            # is set; param2: the index in the plan's strings of a table
                            # of int32, writer branch -> reader branch position
    OP_UNION_VALUE = 37     # a writer non-union read as one branch of a reader union of
                            # several non-null branches: kids: per reader non-null branch,
                            # the node reading it (the value's, at position `param`) or
                            # nulled


# Kids of OP_UNION_DISPATCH and OP_UNION_BRANCHES that are no node.
cpdef enum BranchKid:
    NULL_BRANCH = -1  # the writer branch is null: the value is null
    NO_MATCH = -2     # no reader branch reads the writer branch: an error if met


# How a column's values are laid out in memory (and exported to Arrow).
cpdef enum ColKind:
    CK_NULL = 0     # no buffers
    CK_BOOL = 1     # a bitmap
    CK_FIXED = 2    # `elem` bytes per value
    CK_VAR = 3      # Arrow string/binary views over data buffers
    CK_LIST = 4     # 64-bit offsets into the child column
    CK_STRUCT = 5   # validity only; the fields are columns of their own


# Why the decoder stopped.  Every code but E_OK has a message in
# jetliner._plan.DECODE_ERROR_MESSAGES.
cpdef enum ErrorCode:
    E_OK = 0
    E_EOF = 1
    E_VARINT = 2
    E_INT_RANGE = 3
    E_NEG_LEN = 4
    E_UTF8 = 5
    E_ENUM = 6
    E_UNION = 7
    E_COUNT = 8
    E_DEPTH = 9
    E_NOMEM = 10
    E_DECIMAL = 11
    E_BUDGET = 12
    E_BIGDEC = 13
    E_BOOL = 14
    E_TIME = 15
    E_ENUM_UNRESOLVED = 16
    E_UNION_UNRESOLVED = 17


# A node as the decoder holds it (built from a jetliner._plan.PlanNode).
cdef struct Node:
    int32_t op
    int32_t col       # output column, -1 for none
    int32_t kid0      # offset of the first child into the plan's kids / kid_names
    int32_t nkids
    int64_t param     # meaning by opcode: see Op
    int64_t param2
    int64_t minsz     # minimum encoded size of one value, in bytes (see PlanNode)
    uint64_t lim_hi   # decimals (precision <= 38): 10**precision as a 128-bit number
    uint64_t lim_lo
