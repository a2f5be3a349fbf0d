# The messages as the extension types messages.pxd declares: built through their compiled __init__.
from pgcdc.decode.messages cimport Begin, Commit, Delete, Insert, Update
