"""Delivered positions -> the WAL position that is safe to confirm to PostgreSQL."""
