# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled Avro encoder: Arrow arrays in, the bytes of one Avro block out.

A plan (built by `jetliner.writing` from the frame's Polars schema and the Avro
schema) names, for each Arrow array of a record batch's tree, the Avro type it is
written as.  `Encoder` binds the plan to one exported record batch (the PyCapsule
stream of a DataFrame slice), checking every array's format against its node, then
`encode` walks the rows without the GIL and returns the block's bytes: Avro's binary
encoding of each row, fields in schema order.  Nothing is a Python object per value.

Plan nodes are tuples ``(op, nullable, kid0, nkids, div, symbols, name)``:

- ``op``: an `EncodeOp`.
- ``nullable``: 1 when the Avro type is the union ``["null", T]``, 2 for
  ``[T, "null"]`` (the branch index is written first, then the value of a non-null).
- ``kid0``, ``nkids``: the node's children among the plan's kid list: a record's
  fields, an array's items, a map's key and value.
- ``div``: integers are divided by it before they are written (Polars times are
  nanoseconds, Avro's ``time-micros`` microseconds); a remainder is an error.  For
  ``EO_FIXED``, and ``EO_DECIMAL`` written as a ``fixed``, the size in bytes (a
  ``bytes`` decimal has 0).
- ``symbols``: an enum's symbols (a dictionary-encoded column is written by index
  into them), else None.
- ``name``: the field path, for errors.
"""

from cpython.buffer cimport PyBuffer_FillInfo
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.stdint cimport INT64_MAX, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, strcmp, strlen, strncmp

from jetliner._arrow_abi cimport ArrowArray, ArrowArrayStream, ArrowSchema

__all__ = ["EncodeOp", "Encoder", "ENCODE_ERRORS"]


cpdef enum EncodeOp:
    EO_NULL = 0    # Avro null: no bytes
    EO_BOOL = 1
    EO_INT = 2     # Avro int or long: a zig-zag varint
    EO_FLOAT = 3   # Avro float: 4 bytes
    EO_DOUBLE = 4  # Avro double: 8 bytes
    EO_STRING = 5  # Avro string: length, UTF-8 bytes
    EO_BYTES = 6   # Avro bytes: length, bytes
    EO_DECIMAL = 7  # Avro bytes decimal: length, big-endian two's complement
    EO_ARRAY = 8
    EO_MAP = 9
    EO_RECORD = 10
    EO_ENUM = 11   # Avro enum: the symbol's index
    EO_FIXED = 12  # Avro fixed: exactly `div` bytes


# How a bound array's values are read (from its Arrow format).
cdef enum Phys:
    P_NONE, P_NULL, P_BOOL, P_I8, P_I16, P_I32, P_I64, P_U8, P_U16, P_U32, P_U64,
    P_F16, P_F32, P_F64, P_VIEW, P_BIN32, P_BIN64, P_DEC128, P_LIST32, P_LIST64,
    P_FIXLIST, P_STRUCT, P_MAP, P_DICT

# Errors found while encoding values (the plan and formats are checked when binding).
cdef enum:
    X_OK = 0
    X_NOMEM = 1
    X_RANGE = 2      # an unsigned value beyond the long range
    X_PRECISION = 3  # a value that the Avro type cannot hold exactly
    X_NULL = 4       # a null where the Avro type has no null branch
    X_SYMBOL = 5     # a dictionary value that is not one of the enum's symbols
    X_SIZE = 6       # a value of another size than its fixed type's

ENCODE_ERRORS = {
    X_NOMEM: "out of memory while encoding",
    X_RANGE: "an unsigned integer above 9223372036854775807 does not fit Avro's long",
    X_PRECISION: "the value cannot be written exactly (time: Avro's time-micros holds "
                 "microseconds, and the value has a nanosecond part)",
    X_NULL: "a null value where the Avro type has no null branch",
    X_SYMBOL: "a category that is not one of the enum's symbols",
    X_SIZE: "the value does not fit its Avro fixed type (a fixed holds exactly its size "
            "in bytes; a decimal in a fixed, at most that many)",
}


cdef struct Node:
    int32_t op
    int32_t nullable
    int32_t kid0
    int32_t nkids
    int64_t div
    # bound to the arrays
    int32_t phys
    int32_t width        # fixed-size list: items per list
    int64_t offset       # the array's own offset
    const uint8_t* valid
    const uint8_t* data  # values, offsets, indices or views
    const uint8_t* data2 # the bytes of 32/64-bit offset binary
    const uint8_t** variadic  # the data buffers of a view array
    int32_t* remap       # dictionary index -> enum index (-1: not a symbol)
    int64_t nremap
    int32_t dict_phys    # dictionary values written as strings: their layout
    int64_t dict_offset
    const uint8_t* dict_data
    const uint8_t* dict_data2
    const uint8_t** dict_variadic


cdef struct Out:
    uint8_t* p
    int64_t len
    int64_t cap
    int32_t err
    int32_t err_node
    int64_t err_row


cdef inline int grow(Out* o, int64_t need) noexcept nogil:
    cdef int64_t cap
    cdef uint8_t* q
    if o.len + need <= o.cap:
        return 0
    cap = o.cap * 2 if o.cap else 65536
    while cap < o.len + need:
        cap *= 2
    q = <uint8_t*>realloc(o.p, cap)
    if q == NULL:
        o.err = X_NOMEM
        return -1
    o.p = q
    o.cap = cap
    return 0


cdef inline int put_long(Out* o, int64_t v) noexcept nogil:
    cdef uint64_t z = (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)
    cdef uint8_t* q
    if o.len + 10 > o.cap and grow(o, 10) < 0:
        return -1
    q = o.p + o.len
    while z >= 0x80:
        q[0] = <uint8_t>(z | 0x80)
        q += 1
        z >>= 7
    q[0] = <uint8_t>z
    o.len = q + 1 - o.p
    return 0


cdef inline int put_bytes(Out* o, const uint8_t* s, int64_t n) noexcept nogil:
    if put_long(o, n) < 0:
        return -1
    if o.len + n > o.cap and grow(o, n) < 0:
        return -1
    memcpy(o.p + o.len, s, n)
    o.len += n
    return 0


cdef inline int fail(Out* o, int code, int32_t node, int64_t row) noexcept nogil:
    o.err = code
    o.err_node = node
    o.err_row = row
    return -1


cdef inline bint is_valid(const uint8_t* valid, int64_t i) noexcept nogil:
    return valid == NULL or (valid[i >> 3] >> (i & 7)) & 1


cdef inline int binary_at(int32_t phys, const uint8_t* data, const uint8_t* data2,
                          const uint8_t** variadic, int64_t i,
                          const uint8_t** s, int64_t* n) noexcept nogil:
    """The bytes of value `i` (the array's offset added) of a binary-like array."""
    cdef const uint8_t* view
    cdef int32_t length, buf, off
    cdef int64_t a, b
    if phys == P_VIEW:
        view = data + 16 * i
        memcpy(&length, view, 4)
        if length <= 12:
            s[0] = view + 4
        else:
            memcpy(&buf, view + 8, 4)
            memcpy(&off, view + 12, 4)
            s[0] = variadic[buf] + off
        n[0] = length
    elif phys == P_BIN32:
        a = (<const int32_t*>data)[i]
        b = (<const int32_t*>data)[i + 1]
        s[0] = data2 + a
        n[0] = b - a
    else:
        a = (<const int64_t*>data)[i]
        b = (<const int64_t*>data)[i + 1]
        s[0] = data2 + a
        n[0] = b - a
    return 0


cdef inline float half_to_float(uint16_t h) noexcept nogil:
    cdef uint32_t sign = <uint32_t>(h & 0x8000) << 16
    cdef uint32_t exp = (h >> 10) & 0x1F
    cdef uint32_t man = h & 0x3FF
    cdef uint32_t bits
    cdef float f
    if exp == 0:  # zero or subnormal: man * 2**-24
        f = <float>man * 5.9604644775390625e-08
        return -f if sign else f
    if exp == 31:
        bits = sign | 0x7F800000 | (man << 13)
    else:
        bits = sign | ((exp + 112) << 23) | (man << 13)
    memcpy(&f, &bits, 4)
    return f


cdef int enc(Node* nodes, const int32_t* kids, int32_t k, int64_t i, Out* o) noexcept nogil:
    """Write value `i` of node `k`'s array (its offset not yet added)."""
    cdef Node* n = &nodes[k]
    cdef int64_t j = i + n.offset
    cdef int64_t v, a, b, m, count
    cdef uint64_t u
    cdef int32_t f, idx
    cdef const uint8_t* s
    cdef float fv
    cdef double dv
    cdef uint8_t be[16]
    cdef int start
    if not is_valid(n.valid, j):
        if n.nullable:
            if o.len + 1 > o.cap and grow(o, 1) < 0:
                return -1
            o.p[o.len] = 0 if n.nullable == 1 else 2  # the null branch's index
            o.len += 1
            return 0
        if n.op != EO_NULL:
            return fail(o, X_NULL, k, i)
    elif n.nullable:
        if o.len + 1 > o.cap and grow(o, 1) < 0:
            return -1
        o.p[o.len] = 2 if n.nullable == 1 else 0  # the value's branch index
        o.len += 1
    cdef int op = n.op
    if op == EO_NULL:
        return 0
    elif op == EO_INT:
        if n.phys == P_I64:
            v = (<const int64_t*>n.data)[j]
        elif n.phys == P_I32:
            v = (<const int32_t*>n.data)[j]
        elif n.phys == P_I16:
            v = (<const int16_t*>n.data)[j]
        elif n.phys == P_I8:
            v = (<const int8_t*>n.data)[j]
        elif n.phys == P_U8:
            v = n.data[j]
        elif n.phys == P_U16:
            v = (<const uint16_t*>n.data)[j]
        elif n.phys == P_U32:
            v = (<const uint32_t*>n.data)[j]
        else:
            u = (<const uint64_t*>n.data)[j]
            if u > <uint64_t>INT64_MAX:
                return fail(o, X_RANGE, k, i)
            v = <int64_t>u
        if n.div != 1:
            if v % n.div != 0:
                return fail(o, X_PRECISION, k, i)
            v = v // n.div
        return put_long(o, v)
    elif op == EO_STRING or op == EO_BYTES:
        if n.phys == P_DICT:  # Polars' Categorical: the dictionary's string
            binary_at(n.dict_phys, n.dict_data, n.dict_data2, n.dict_variadic,
                      dict_index(n, j) + n.dict_offset, &s, &m)
        else:
            binary_at(n.phys, n.data, n.data2, n.variadic, j, &s, &m)
        return put_bytes(o, s, m)
    elif op == EO_FIXED:
        binary_at(n.phys, n.data, n.data2, n.variadic, j, &s, &m)
        if m != n.div:
            return fail(o, X_SIZE, k, i)
        if o.len + m > o.cap and grow(o, m) < 0:
            return -1
        memcpy(o.p + o.len, s, m)
        o.len += m
        return 0
    elif op == EO_DOUBLE or op == EO_FLOAT:
        if o.len + 8 > o.cap and grow(o, 8) < 0:
            return -1
        if op == EO_DOUBLE:
            if n.phys == P_F64:
                memcpy(o.p + o.len, n.data + 8 * j, 8)
            else:
                dv = (<const float*>n.data)[j]
                memcpy(o.p + o.len, &dv, 8)
            o.len += 8
        else:
            if n.phys == P_F32:
                memcpy(o.p + o.len, n.data + 4 * j, 4)
            else:
                fv = half_to_float((<const uint16_t*>n.data)[j])
                memcpy(o.p + o.len, &fv, 4)
            o.len += 4
        return 0
    elif op == EO_BOOL:
        if o.len + 1 > o.cap and grow(o, 1) < 0:
            return -1
        o.p[o.len] = (n.data[j >> 3] >> (j & 7)) & 1
        o.len += 1
        return 0
    elif op == EO_RECORD:
        for f in range(n.nkids):
            if enc(nodes, kids, kids[n.kid0 + f], j, o) < 0:
                return -1
        return 0
    elif op == EO_ARRAY or op == EO_MAP:
        if n.phys == P_FIXLIST:
            a = j * n.width
            b = a + n.width
        elif n.phys == P_LIST64:
            a = (<const int64_t*>n.data)[j]
            b = (<const int64_t*>n.data)[j + 1]
        else:  # P_LIST32, P_MAP
            a = (<const int32_t*>n.data)[j]
            b = (<const int32_t*>n.data)[j + 1]
        count = b - a
        if count > 0:
            if put_long(o, count) < 0:
                return -1
            if op == EO_ARRAY:
                while a < b:
                    if enc(nodes, kids, kids[n.kid0], a, o) < 0:
                        return -1
                    a += 1
            else:  # the entries struct's offset (in dict_offset) applies to key and value
                while a < b:
                    if enc(nodes, kids, kids[n.kid0], a + n.dict_offset, o) < 0:
                        return -1
                    if enc(nodes, kids, kids[n.kid0 + 1], a + n.dict_offset, o) < 0:
                        return -1
                    a += 1
        if o.len + 1 > o.cap and grow(o, 1) < 0:
            return -1
        o.p[o.len] = 0
        o.len += 1
        return 0
    elif op == EO_ENUM:  # bound to dictionary-encoded arrays only
        v = dict_index(n, j)
        if v < 0 or v >= n.nremap or n.remap[v] < 0:
            return fail(o, X_SYMBOL, k, i)
        return put_long(o, n.remap[v])
    elif op == EO_DECIMAL:
        # 16 bytes little-endian two's complement -> big-endian, shortest form
        for f in range(16):
            be[f] = n.data[16 * j + 15 - f]
        start = 0
        while start < 15 and ((be[start] == 0 and be[start + 1] < 0x80)
                              or (be[start] == 0xFF and be[start + 1] >= 0x80)):
            start += 1
        if n.div == 0:
            return put_bytes(o, be + start, 16 - start)
        # a fixed of `div` bytes: the value sign-extended to it
        if 16 - start > n.div:
            return fail(o, X_SIZE, k, i)
        if o.len + n.div > o.cap and grow(o, n.div) < 0:
            return -1
        for f in range(n.div - (16 - start)):
            o.p[o.len + f] = 0xFF if be[start] >= 0x80 else 0
        memcpy(o.p + o.len + n.div - (16 - start), be + start, 16 - start)
        o.len += n.div
        return 0
    return 0


cdef inline int64_t dict_index(Node* n, int64_t j) noexcept nogil:
    if n.width == 1:
        return n.data[j]
    if n.width == 2:
        return (<const uint16_t*>n.data)[j]
    if n.width == 4:
        return (<const uint32_t*>n.data)[j]
    if n.width == -1:
        return (<const int8_t*>n.data)[j]
    if n.width == -2:
        return (<const int16_t*>n.data)[j]
    if n.width == -4:
        return (<const int32_t*>n.data)[j]
    return (<const int64_t*>n.data)[j]


cdef class EncodeBuffer:
    """Memory an `Encoder` writes blocks into, reused from block to block.

    A fresh buffer per block of a megabyte was a fresh mapping with every page
    faulted in (the C library maps blocks that large, until a larger one it freed
    makes it keep them): a third of a write's time.  Its buffer protocol shows the
    last encoding (read-only); it cannot be written into while viewed.
    """

    cdef uint8_t* p
    cdef int64_t cap
    cdef int64_t length
    cdef int exports

    def __dealloc__(self):
        free(self.p)

    def __len__(self):
        return self.length

    def __getbuffer__(self, Py_buffer* view, int flags):
        PyBuffer_FillInfo(view, self, self.p, self.length, 1, flags)
        self.exports += 1

    def __releasebuffer__(self, Py_buffer* view):
        self.exports -= 1


cdef class Encoder:
    """A plan bound to one record batch (a DataFrame slice's Arrow stream).

    Parameters
    ----------
    plan
        The nodes (see the module docstring); node 0 is the top-level record.
    kids
        The children of every node, as indices into `plan`.
    stream
        An object with ``__arrow_c_stream__`` (a DataFrame) of one chunk.
    """

    cdef Node* nodes
    cdef int32_t nnodes
    cdef int32_t* kids
    cdef int32_t nkids
    cdef ArrowArrayStream stream
    cdef ArrowSchema schema
    cdef ArrowArray array
    cdef bint have_stream, have_schema, have_array
    cdef readonly int64_t rows
    cdef list names
    cdef list _keep  # the Python objects whose buffers the nodes point into

    def __cinit__(self):
        self.nodes = NULL
        self.kids = NULL
        self.have_stream = self.have_schema = self.have_array = False

    def __init__(self, list plan, list kids, object frame):
        cdef int32_t i
        self.nnodes = len(plan)
        self.nkids = len(kids)
        self.nodes = <Node*>calloc(max(self.nnodes, 1), sizeof(Node))
        self.kids = <int32_t*>calloc(max(self.nkids, 1), sizeof(int32_t))
        if self.nodes == NULL or self.kids == NULL:
            raise MemoryError()
        self.names = []
        self._keep = []
        for i in range(self.nnodes):
            op, nullable, kid0, nkids, div, symbols, name = plan[i]
            self.nodes[i].op = op
            self.nodes[i].nullable = nullable
            self.nodes[i].kid0 = kid0
            self.nodes[i].nkids = nkids
            self.nodes[i].div = div
            self.names.append((name, symbols))
        for i in range(self.nkids):
            self.kids[i] = kids[i]
        capsule = frame.__arrow_c_stream__()
        cdef ArrowArrayStream* src = <ArrowArrayStream*>PyCapsule_GetPointer(
            capsule, "arrow_array_stream")
        # move the stream out of the capsule: it is ours to release
        self.stream = src[0]
        src.release = NULL
        self.have_stream = True
        if self.stream.get_schema(&self.stream, &self.schema) != 0:
            raise RuntimeError("the frame's Arrow stream gave no schema")
        self.have_schema = True
        if self.stream.get_next(&self.stream, &self.array) != 0:
            raise RuntimeError("the frame's Arrow stream gave no batch")
        self.have_array = self.array.release != NULL
        if not self.have_array:
            self.rows = 0
            return
        cdef ArrowArray extra
        if self.stream.get_next(&self.stream, &extra) == 0 and extra.release != NULL:
            extra.release(&extra)
            raise ValueError("the frame has several chunks: rechunk it first")
        if self.schema.n_children != self.nodes[0].nkids:
            raise ValueError(f"the frame has {self.schema.n_children} columns, the plan "
                             f"{self.nodes[0].nkids}")
        self.rows = self.array.length
        self._bind(0, &self.schema, &self.array)

    cdef _bind(self, int32_t k, ArrowSchema* sch, ArrowArray* arr):
        """Check array `arr` (format in `sch`) fits node `k`, and record its buffers."""
        cdef Node* n = &self.nodes[k]
        cdef bytes fmt = sch.format
        cdef int32_t op = n.op
        cdef str name = self.names[k][0]
        cdef int64_t f
        cdef ArrowSchema* entries
        n.offset = arr.offset
        n.valid = <const uint8_t*>arr.buffers[0] if arr.n_buffers > 0 else NULL
        if arr.null_count == 0:
            n.valid = NULL
        if sch.dictionary != NULL:
            self._bind_dict(k, sch, arr, fmt)
            return
        n.phys = _phys(fmt)
        if n.phys == P_NONE:
            raise ValueError(f"column {name!r}: Arrow format {fmt.decode()!r} is not supported")
        if not _fits(op, n.phys):
            raise ValueError(f"column {name!r}: Arrow format {fmt.decode()!r} cannot be "
                             f"written as {EncodeOp(op).name}")
        if n.phys == P_NULL:
            n.valid = NULL
            if op != EO_NULL:
                if not n.nullable and arr.length:
                    raise ValueError(f"column {name!r} is all nulls, and its Avro type has "
                                     "no null branch")
                # every value is null: a validity buffer of zeros stands in for one
                zeros = bytes((arr.length + arr.offset + 7) // 8 + 1)
                self._keep.append(zeros)
                n.valid = <const uint8_t*><char*>zeros
            return
        if n.phys == P_VIEW:
            n.data = <const uint8_t*>arr.buffers[1]
            n.variadic = <const uint8_t**>(arr.buffers + 2)
        elif n.phys in (P_BIN32, P_BIN64):
            n.data = <const uint8_t*>arr.buffers[1]
            n.data2 = <const uint8_t*>arr.buffers[2]
        elif n.phys == P_STRUCT:
            if arr.n_children != n.nkids:
                raise ValueError(f"column {name!r}: {arr.n_children} fields, plan {n.nkids}")
            for f in range(n.nkids):
                self._bind(self.kids[n.kid0 + f], sch.children[f], arr.children[f])
        elif n.phys in (P_LIST32, P_LIST64):
            n.data = <const uint8_t*>arr.buffers[1]
            self._bind(self.kids[n.kid0], sch.children[0], arr.children[0])
        elif n.phys == P_FIXLIST:
            n.width = int(fmt[3:])
            self._bind(self.kids[n.kid0], sch.children[0], arr.children[0])
        elif n.phys == P_MAP:
            n.data = <const uint8_t*>arr.buffers[1]
            entries = sch.children[0]
            n.dict_offset = arr.children[0].offset
            if entries.n_children != 2 or arr.children[0].n_children != 2:
                raise ValueError(f"column {name!r}: a map's entries need a key and a value")
            self._bind(self.kids[n.kid0], entries.children[0], arr.children[0].children[0])
            self._bind(self.kids[n.kid0 + 1], entries.children[1], arr.children[0].children[1])
        elif n.phys != P_NULL:
            n.data = <const uint8_t*>arr.buffers[1]

    cdef _bind_dict(self, int32_t k, ArrowSchema* sch, ArrowArray* arr, bytes fmt):
        """A dictionary-encoded array: an enum by index, or strings by value."""
        cdef Node* n = &self.nodes[k]
        cdef str name = self.names[k][0]
        cdef ArrowSchema* dsch = sch.dictionary
        cdef ArrowArray* darr = arr.dictionary
        cdef const uint8_t* s
        cdef int64_t m, d
        if fmt not in _INDEX_WIDTHS:
            raise ValueError(f"column {name!r}: dictionary indices {fmt.decode()!r}")
        n.width = _INDEX_WIDTHS[fmt]
        n.phys = P_DICT
        n.data = <const uint8_t*>arr.buffers[1]
        dphys = _phys(dsch.format)
        if dphys not in (P_VIEW, P_BIN32, P_BIN64) or darr == NULL:
            raise ValueError(f"column {name!r}: dictionary values {dsch.format!r}")
        n.dict_phys = dphys
        n.dict_offset = darr.offset
        if dphys == P_VIEW:
            n.dict_data = <const uint8_t*>darr.buffers[1]
            n.dict_variadic = <const uint8_t**>(darr.buffers + 2)
        else:
            n.dict_data = <const uint8_t*>darr.buffers[1]
            n.dict_data2 = <const uint8_t*>darr.buffers[2]
        if n.op == EO_STRING:
            return
        if n.op != EO_ENUM:
            raise ValueError(f"column {name!r}: a dictionary-encoded column cannot be "
                             f"written as {EncodeOp(n.op).name}")
        symbols = {sym: i for i, sym in enumerate(self.names[k][1])}
        n.nremap = darr.length
        n.remap = <int32_t*>malloc(max(darr.length, 1) * sizeof(int32_t))
        if n.remap == NULL:
            raise MemoryError()
        for d in range(darr.length):
            if darr.null_count and not is_valid(<const uint8_t*>darr.buffers[0],
                                                d + darr.offset):
                n.remap[d] = -1
                continue
            binary_at(dphys, n.dict_data, n.dict_data2, n.dict_variadic, d + darr.offset,
                      &s, &m)
            n.remap[d] = symbols.get((<char*>s)[:m].decode("utf-8"), -1)

    def encode(self, int64_t start=0, int64_t stop=-1, int64_t size_hint=0,
               EncodeBuffer into=None):
        """Return the Avro encoding of rows ``[start, stop)`` (all by default).

        `size_hint`, the expected size in bytes, sizes the buffer at once (it grows
        by doubling past it).  With `into`, the encoding is written there (its
        memory reused, grown if need be) and its length is returned instead.

        Raises
        ------
        ValueError
            With ``(message, field path, row)`` as its arguments, for a value the
            Avro type cannot hold.
        """
        cdef Out o
        cdef int64_t i
        cdef int32_t f
        cdef int r = 0
        cdef Node* root = &self.nodes[0]
        cdef int64_t base
        if stop < 0 or stop > self.rows:
            stop = self.rows
        o.p = NULL
        o.len = o.cap = 0
        if into is not None:
            if into.exports:
                raise BufferError("the encode buffer is still viewed")
            o.p = into.p
            o.cap = into.cap
            into.p = NULL  # o owns the memory until it is handed back
            into.cap = into.length = 0
        if size_hint > 0 and grow(&o, size_hint + size_hint // 8) < 0:
            if into is not None:
                into.p, into.cap = o.p, o.cap
            raise MemoryError()
        o.err = X_OK
        o.err_node = 0
        o.err_row = 0
        base = root.offset
        with nogil:
            for i in range(start, stop):
                for f in range(root.nkids):
                    r = enc(self.nodes, self.kids, self.kids[root.kid0 + f], i + base, &o)
                    if r < 0:
                        break
                if r < 0:
                    break
        if into is not None:
            into.p, into.cap = o.p, o.cap
            if r == 0:
                into.length = o.len
        if r < 0:
            if into is None:
                free(o.p)
            if o.err == X_NOMEM:
                raise MemoryError()
            raise ValueError(ENCODE_ERRORS[o.err], self.names[o.err_node][0], i)
        if into is not None:
            return into.length
        try:
            return PyBytes_FromStringAndSize(<char*>o.p, o.len)
        finally:
            free(o.p)

    def __dealloc__(self):
        cdef int32_t i
        if self.nodes != NULL:
            for i in range(self.nnodes):
                free(self.nodes[i].remap)
            free(self.nodes)
        free(self.kids)
        if self.have_array and self.array.release != NULL:
            self.array.release(&self.array)
        if self.have_schema and self.schema.release != NULL:
            self.schema.release(&self.schema)
        if self.have_stream and self.stream.release != NULL:
            self.stream.release(&self.stream)


# Arrow formats of one layout each (timestamps, durations, decimals and fixed-size
# lists carry parameters: see `_phys`), and the widths of dictionary indices (negative:
# signed).
_LAYOUTS = {b"n": P_NULL, b"b": P_BOOL, b"c": P_I8, b"s": P_I16, b"i": P_I32,
            b"l": P_I64, b"C": P_U8, b"S": P_U16, b"I": P_U32, b"L": P_U64,
            b"e": P_F16, b"f": P_F32, b"g": P_F64, b"vu": P_VIEW, b"vz": P_VIEW,
            b"u": P_BIN32, b"z": P_BIN32, b"U": P_BIN64, b"Z": P_BIN64,
            b"+l": P_LIST32, b"+L": P_LIST64, b"+s": P_STRUCT, b"+m": P_MAP,
            b"tdD": P_I32, b"tts": P_I32, b"ttm": P_I32, b"ttu": P_I64, b"ttn": P_I64}
_INDEX_WIDTHS = {b"C": 1, b"S": 2, b"I": 4, b"L": 8, b"c": -1, b"s": -2, b"i": -4, b"l": -8}


cdef int _phys(bytes fmt):
    """The layout an Arrow format string names (P_NONE: not one the encoder reads)."""
    if fmt in _LAYOUTS:
        return _LAYOUTS[fmt]
    if fmt.startswith(b"ts") or fmt.startswith(b"tD"):  # timestamps, durations
        return P_I64
    if fmt.startswith(b"d:"):
        parts = fmt[2:].split(b",")
        return P_DEC128 if len(parts) == 2 or parts[2] == b"128" else P_NONE
    if fmt.startswith(b"+w:"):
        return P_FIXLIST
    return P_NONE


cdef bint _fits(int op, int phys):
    if op == EO_NULL:
        return phys == P_NULL
    if phys == P_NULL:
        return True
    if op == EO_BOOL:
        return phys == P_BOOL
    if op == EO_INT:
        return P_I8 <= phys <= P_U64
    if op == EO_FLOAT:
        return phys == P_F32 or phys == P_F16
    if op == EO_DOUBLE:
        return phys == P_F64 or phys == P_F32
    if op == EO_STRING or op == EO_BYTES or op == EO_FIXED:
        return phys in (P_VIEW, P_BIN32, P_BIN64)
    if op == EO_DECIMAL:
        return phys == P_DEC128
    if op == EO_ARRAY:
        return phys in (P_LIST32, P_LIST64, P_FIXLIST)
    if op == EO_MAP:
        return phys == P_MAP
    if op == EO_RECORD:
        return phys == P_STRUCT
    return False
