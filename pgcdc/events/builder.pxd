# The decoded messages, the event and the table as extension types (messages.pxd, change.pxd, table.pxd): their
# fields are read from, and the event built into, the C struct. EventBuilder is one too: its own fields are struct
# slots instead of a dict, and its per-row methods C calls.
from pgcdc.decode.messages cimport Begin, Commit, Delete, Insert, Update
from pgcdc.events.change cimport ChangeEvent, SourcePosition
from pgcdc.events.table cimport CapturedTable

cdef class EventBuilder:
    cdef object _config
    cdef object _signals
    cdef set _signal_oids
    cdef object _describe
    cdef object _tracker
    cdef object _sink
    cdef object _emit_insert
    cdef dict _tables
    cdef object _ack
    cdef SourcePosition _position
    cdef object _last_commit_lsn
    cdef object _skipped
    cdef bint _tombstones
    cdef object _final_lsn
    cdef dict _snapshotted_at
    cdef object _transactions
    cdef object _resume_at
    cdef bint _marked

    cdef _emit(self, str op, CapturedTable table, key, before, after, lsn, key_change=*)
    cdef _tombstone(self, CapturedTable table, key, lsn, key_change=*)
    cdef _insert(self, Insert message, lsn)
    cdef _update(self, Update message, lsn)
    cdef _delete(self, Delete message, lsn)
