"""Initial snapshots: the captured tables' rows as ``op: r`` events, read from the slot's exported snapshot."""
