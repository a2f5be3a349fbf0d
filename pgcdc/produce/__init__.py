"""Kafka: client settings, topics, and the producer whose delivery reports drive acknowledgement."""
