# The event, the serializer and the ack as the extension types change.pxd, records.pxd and tracker.pxd declare:
# the event's fields are read from the C struct, the serializer's and the ack's methods called in C. KafkaSink is
# one too: its fields are struct slots instead of a dict.
from pgcdc.ack.tracker cimport TransactionAck
from pgcdc.events.change cimport ChangeEvent
from pgcdc.serialize.records cimport RecordSerializer

cdef class KafkaSink:
    cdef public object _producer  # public: bench.hotpath swaps in a producer that keeps nothing
    cdef readonly object transactions
    cdef object _max_bytes
    cdef object _topics
    cdef RecordSerializer _serializer
    cdef str _message_topic
    cdef str _transaction_topic
    cdef str _prefix
    cdef set _ready
    cdef object _on_wait
    cdef Py_ssize_t _since_poll
    cdef dict _counts
    cdef object _status
    cdef object _position
    cdef object _refused

    cdef str _topic(self, ChangeEvent event)
    cdef _count(self, str op, position)
    cpdef str ensure_topic(self, str topic)
    cpdef produce(self, str topic, bytes key, bytes value, object callback, object headers=*)
