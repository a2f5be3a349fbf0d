# CapturedTable as an extension type when table.py is compiled (pgcdc.hot_path): the builder and the serializer
# cimport it, call row() and key() in C and read its fields from the C struct.

cdef class CapturedTable:
    cdef readonly object relation
    cdef readonly object oid
    cdef readonly str topic
    cdef readonly tuple fields
    cdef readonly tuple key_fields
    cdef readonly tuple steps
    cdef readonly tuple key_names
    cdef readonly object masks

    cpdef dict row(self, values, previous=*)
    cpdef object key(self, row)
