# The per-row messages as extension types when messages.py is compiled (pgcdc.hot_path): compiled modules that
# cimport them read their fields from the C struct. Fields are objects: an int field would make a new Python int
# on every read.

cdef class _Value:
    pass

cdef class Begin(_Value):
    cdef public object final_lsn
    cdef public object commit_time_us
    cdef public object xid

cdef class Commit(_Value):
    cdef public object commit_lsn
    cdef public object end_lsn
    cdef public object commit_time_us

cdef class Insert(_Value):
    cdef public object relation_oid
    cdef public list new

cdef class Update(_Value):
    cdef public object relation_oid
    cdef public list old
    cdef public bint old_is_key_only
    cdef public list new

cdef class Delete(_Value):
    cdef public object relation_oid
    cdef public list old
    cdef public bint old_is_key_only
