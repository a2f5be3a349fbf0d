# cython: language_level=3
"""The compiled form of assembly.py (see there): one allocation, the pieces copied in, the digits written in."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy
from orjson import dumps as _orjson_dumps

from pgcdc.decode.values import INTEGER_TEXT, STRING_TEXT
from pgcdc.serialize.escapes import upper_case_escapes

cdef int _INTEGER_TEXT = INTEGER_TEXT
cdef int _STRING_TEXT = STRING_TEXT


cdef extern from "string.h":
    # GNU's (and the BSDs'); Python.h defines _GNU_SOURCE first.
    void* memmem(const void* haystack, size_t haystack_size, const void* needle, size_t needle_size) nogil


cdef inline Py_ssize_t _digits(unsigned long long n, char* out) noexcept:
    """Writes ``n`` in decimal at ``out``; returns how many digits."""
    cdef char reverse[20]
    cdef Py_ssize_t count = 0
    cdef Py_ssize_t i
    while True:
        reverse[count] = <char>(48 + n % 10)
        count += 1
        n //= 10
        if n == 0:
            break
    for i in range(count):
        out[i] = reverse[count - 1 - i]
    return count


cdef inline char* _put(char* at, bytes piece) noexcept:
    cdef Py_ssize_t size = PyBytes_GET_SIZE(piece)
    memcpy(at, PyBytes_AS_STRING(piece), size)
    return at + size


def json_bytes(value):
    # memmem, not bytes.find: the method call's argument tuple cost more than the search.
    cdef bytes data = _orjson_dumps(value)
    if memmem(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), b"\\u00", 4) != NULL:
        data = upper_case_escapes(data)
    return data


cdef struct _Part:
    const char* data
    Py_ssize_t size
    bint quoted  # a string's UTF-8 that needs no escape: the quotes go around it as it is copied


cdef bint _integer_text(const char* data, Py_ssize_t size) noexcept:
    """PostgreSQL's text of an integer: no sign for zero and positives, no leading zeros."""
    cdef Py_ssize_t i = 1 if size > 0 and data[0] == b"-" else 0
    if i == size:
        return False
    if data[i] == b"0":
        return size == 1
    while i < size:
        if data[i] < b"0" or data[i] > b"9":
            return False
        i += 1
    return True


cdef bint _plain_string(const char* data, Py_ssize_t size) noexcept:
    """Nothing orjson escapes: no control character, quote or backslash."""
    cdef Py_ssize_t i
    cdef unsigned char c
    for i in range(size):
        c = <unsigned char>data[i]
        if c < 0x20 or c == 0x22 or c == 0x5C:
            return False
    return True


cdef char* _put_part(char* at, bytes name, _Part* part) noexcept:
    at = _put(at, name)
    if part.quoted:
        at[0] = b'"'
        at += 1
    memcpy(at, part.data, part.size)
    at += part.size
    if part.quoted:
        at[0] = b'"'
        at += 1
    return at


cdef inline bytes _json_object(tuple columns, _Part* parts, tuple indexes, Py_ssize_t count):
    """``{"name":value,...}`` of the columns at ``indexes`` (None: all ``count`` of them, in order)."""
    cdef Py_ssize_t n = count if indexes is None else len(indexes)
    cdef Py_ssize_t size = 2 + (n - 1 if n > 0 else 0)
    cdef Py_ssize_t j, i
    for j in range(n):
        i = j if indexes is None else <Py_ssize_t>indexes[j]
        size += PyBytes_GET_SIZE(<bytes>(<tuple>columns[i])[0]) + parts[i].size + 2 * parts[i].quoted
    cdef bytes written = PyBytes_FromStringAndSize(NULL, size)
    cdef char* at = PyBytes_AS_STRING(written)
    at[0] = b"{"
    at += 1
    for j in range(n):
        i = j if indexes is None else <Py_ssize_t>indexes[j]
        if j > 0:
            at[0] = b","
            at += 1
        at = _put_part(at, <bytes>(<tuple>columns[i])[0], &parts[i])
    at[0] = b"}"
    return written


def row_json(tuple columns not None, tuple key_columns not None, values):
    # The parts point into the tuple's strings and into ``held``, which keeps what this call made alive.
    cdef Py_ssize_t count = len(columns)
    cdef _Part* parts = <_Part*>PyMem_Malloc(max(count, 1) * sizeof(_Part))
    if parts == NULL:
        raise MemoryError()
    cdef list held = []
    cdef Py_ssize_t i, size
    cdef const char* data
    cdef int form
    cdef tuple column
    cdef bytes piece
    try:
        for i in range(count):
            column = <tuple>columns[i]
            raw = values[<Py_ssize_t>column[1]]
            form = <int>column[2]
            if raw is None:
                value = None
            elif type(raw) is not str:
                return None
            elif form == _INTEGER_TEXT:
                data = PyUnicode_AsUTF8AndSize(raw, &size)
                if not _integer_text(data, size):
                    return None
                parts[i] = _Part(data, size, False)
                continue
            else:
                value = raw if form == _STRING_TEXT or column[3] is None else column[3](raw)
            if value is None:
                piece = <bytes>column[4]
                parts[i] = _Part(PyBytes_AS_STRING(piece), PyBytes_GET_SIZE(piece), False)
                continue
            if type(value) is str:
                data = PyUnicode_AsUTF8AndSize(value, &size)
                if _plain_string(data, size):
                    if value is not raw:
                        held.append(value)
                    parts[i] = _Part(data, size, True)
                    continue
            piece = json_bytes(value)
            held.append(piece)
            parts[i] = _Part(PyBytes_AS_STRING(piece), PyBytes_GET_SIZE(piece), False)
        return _json_object(columns, parts, None, count), _json_object(columns, parts, key_columns, count)
    finally:
        PyMem_Free(parts)


def row_value(tuple pieces not None, bytes before not None, bytes after not None, bytes transaction not None,
              unsigned long long lsn, bint second_lsn, unsigned long long now_ns):
    if len(pieces) != 9 or not all(type(piece) is bytes for piece in pieces):
        raise TypeError("row_value takes nine pieces of bytes")
    cdef bytes to_before = pieces[0], to_after = pieces[1], to_lsn = pieces[2], between_lsns = pieces[3]
    cdef bytes to_transaction = pieces[4], to_ms = pieces[5], to_us = pieces[6], to_ns = pieces[7], tail = pieces[8]
    cdef char lsn_digits[20]
    cdef char ns_digits[20]
    cdef Py_ssize_t lsn_size = _digits(lsn, lsn_digits)
    cdef Py_ssize_t ns_size = _digits(now_ns, ns_digits)
    # As the slices ns[:-6] and ns[:-3] are: empty for a clock reading with fewer digits.
    cdef Py_ssize_t ms_size = ns_size - 6 if ns_size > 6 else 0
    cdef Py_ssize_t us_size = ns_size - 3 if ns_size > 3 else 0
    cdef Py_ssize_t size = lsn_size * (2 if second_lsn else 1) + ms_size + us_size + ns_size
    size += PyBytes_GET_SIZE(before) + PyBytes_GET_SIZE(after) + PyBytes_GET_SIZE(transaction)
    cdef Py_ssize_t i
    for i in range(9):
        size += PyBytes_GET_SIZE(<bytes>pieces[i])
    cdef bytes value = PyBytes_FromStringAndSize(NULL, size)
    cdef char* at = PyBytes_AS_STRING(value)
    at = _put(at, to_before)
    at = _put(at, before)
    at = _put(at, to_after)
    at = _put(at, after)
    at = _put(at, to_lsn)
    memcpy(at, lsn_digits, lsn_size)
    at += lsn_size
    at = _put(at, between_lsns)
    if second_lsn:
        memcpy(at, lsn_digits, lsn_size)
        at += lsn_size
    at = _put(at, to_transaction)
    at = _put(at, transaction)
    at = _put(at, to_ms)
    memcpy(at, ns_digits, ms_size)
    at += ms_size
    at = _put(at, to_us)
    memcpy(at, ns_digits, us_size)
    at += us_size
    at = _put(at, to_ns)
    memcpy(at, ns_digits, ns_size)
    at += ns_size
    _put(at, tail)
    return value
