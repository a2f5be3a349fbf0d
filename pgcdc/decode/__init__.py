"""pgoutput bytes -> messages, and column text -> values. No I/O here."""
