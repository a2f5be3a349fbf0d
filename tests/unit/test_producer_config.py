"""The producer's librdkafka settings: tuning defaults the user may change, guarantees nobody may."""

from __future__ import annotations

from pgcdc.produce.client import kafka_settings
from pgcdc.produce.producer import producer_config


def test_batches_are_lz4_compressed_unless_the_environment_says_otherwise() -> None:
    default = producer_config(kafka_settings("localhost:9092", env={}), max_queue_bytes=1 << 20)
    assert default["compression.type"] == "lz4"
    assert default["queue.buffering.max.kbytes"] == 1024

    env = {"PGCDC_KAFKA_COMPRESSION_TYPE": "gzip", "PGCDC_KAFKA_ENABLE_IDEMPOTENCE": "false"}
    overridden = producer_config(kafka_settings("localhost:9092", env=env), max_queue_bytes=1 << 20)
    assert overridden["compression.type"] == "gzip"
    assert overridden["enable.idempotence"] is True and overridden["acks"] == "all"
    assert overridden["message.timeout.ms"] == 0
