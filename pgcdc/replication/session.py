"""The session settings PostgreSQL renders values with, the same for pgoutput and for COPY."""

from __future__ import annotations

# pgoutput and COPY render values with the session's output settings; pin the ones the converters in
# pgcdc.decode.values parse, whatever the role's or database's defaults are. TimeZone=UTC as pgjdbc pins
# Debezium's session to the JVM's zone (UTC in Kafka Connect images): tstzrange values are written as text.
TEXT_OUTPUT_OPTIONS = (
    "-c datestyle=ISO -c intervalstyle=postgres -c bytea_output=hex -c extra_float_digits=1 -c timezone=UTC"
)
