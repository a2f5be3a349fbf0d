"""Change events -> Debezium JSON key/value bytes (Kafka Connect JsonConverter, schemas enabled). No I/O here."""
