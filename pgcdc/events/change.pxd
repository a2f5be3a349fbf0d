# ChangeEvent and SourcePosition as extension types when change.py is compiled (pgcdc.hot_path): the compiled
# builder, serializer and sink cimport them and reach their fields in the C struct.

cdef class SourcePosition:
    cdef public object tx_id
    cdef public object commit_time_us
    cdef public object last_commit_lsn
    cdef public str snapshot

cdef class ChangeEvent:
    cdef public str op
    cdef public object table
    cdef public object key
    cdef public object before
    cdef public object after
    cdef public SourcePosition position
    cdef public object lsn
    cdef public object ack
    cdef public bint tombstone
    cdef public object message_prefix
    cdef public object message_content
    cdef public object headers
    cdef public object transaction
    cdef public object key_change
