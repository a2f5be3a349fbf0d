# cython: language_level=3
"""The compiled form of assembly.py (see there): one allocation, the pieces copied in, the digits written in."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy
from orjson import dumps as _orjson_dumps

from pgcdc.serialize.escapes import upper_case_escapes


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
