# TransactionAck as an extension type when tracker.py is compiled (pgcdc.hot_path): the sink cimports it and
# counts each record sent in C.

cdef class TransactionAck:
    cdef object _tracker
    cdef public Py_ssize_t outstanding
    cdef public bint committed
    cdef public object end_lsn
    cdef readonly object callback

    cpdef sent(self)
