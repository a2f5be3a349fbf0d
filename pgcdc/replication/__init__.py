"""Replication slot and publication management, and the replication stream with its feedback."""
