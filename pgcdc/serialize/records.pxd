# The event and the table as the extension types change.pxd and table.pxd declare: their fields are read from the
# C struct. RecordSerializer and the row template are extension types too: their fields are struct slots, and the
# sink calls the serializer's per-record methods in C.
from pgcdc.events.change cimport ChangeEvent, SourcePosition
from pgcdc.events.table cimport CapturedTable


cdef class _RowTemplate:
    cdef readonly CapturedTable table
    cdef readonly SourcePosition position
    cdef readonly dict by_op
    cdef readonly bint lsn_null


cdef class RecordSerializer:
    cdef str _server_name
    cdef str _dbname
    cdef object _context
    cdef dict _tables
    cdef dict _templates
    cdef dict _first_events
    cdef object _last_source
    cdef bytes _message_key_prefix
    cdef bytes _message_value_prefix
    cdef bytes _heartbeat_key
    cdef bytes _heartbeat_value_prefix
    cdef bytes _transaction_key_prefix
    cdef bytes _transaction_value_prefix

    cdef object _prefixes(self, CapturedTable table)
    cdef _RowTemplate _template(self, CapturedTable table, SourcePosition position)
    cpdef object key(self, ChangeEvent event)
    cpdef object value(self, ChangeEvent event)
    cpdef object headers(self, ChangeEvent event)
    cpdef object insert_parts(self, CapturedTable table, values, SourcePosition position)
    cpdef bytes insert_value(self, CapturedTable table, bytes after, block, lsn)
