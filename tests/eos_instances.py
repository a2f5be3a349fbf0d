"""Two instances of one exactly-once connector: the later one plans a snapshot before the first has created the
slot, and is then refused the slot the first created meanwhile (shared by the exactly-once and fenced tests)."""

from __future__ import annotations

from contextlib import closing

import psycopg
import pytest

from pgcdc.ack.offsets import read_committed_offset
from pgcdc.config import parse_config
from pgcdc.errors import SlotInUseError
from pgcdc.pipeline import Connector
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.topics import TopicAdmin
from pgcdc.replication.source import SourcePlan, prepare_source
from tests.connector_run import wait_until


def planned_before_the_slot(
    database: str, settings: dict[str, str], kafka: KafkaSettings
) -> tuple[Connector, SourcePlan]:
    """An instance that plans its start now, while no slot exists: it plans a full snapshot."""
    config = parse_config(settings, env={})
    late = Connector(config=config, kafka=kafka)
    with psycopg.connect(database, autocommit=True) as conn:
        plan = prepare_source(conn, config, status=late.status)
    assert plan.full_snapshot
    return late, plan


def change_and_wait_for_its_commit(
    database: str, kafka: KafkaSettings, offsets_topic: str, key: bytes, statement: str, *, what: str
) -> None:
    """Run ``statement`` and wait until the offset committed under ``key`` moves past the one before it (the
    snapshot's): the change is in a committed Kafka transaction."""
    before = read_committed_offset(kafka, offsets_topic, key)
    assert before is not None
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(statement)
    wait_until(
        lambda: (read_committed_offset(kafka, offsets_topic, key) or before).lsn > before.lsn,
        timeout=60,
        what=what,
    )


def refused_the_slot(
    database: str, kafka: KafkaSettings, late: Connector, plan: SourcePlan
) -> SlotInUseError:
    """``late`` starts on its plan (registering its transactional id, which fences the other instance) and is
    refused the slot the other instance created; returns the refusal."""
    with (
        closing(TopicAdmin(kafka=kafka, partitions=1, replication_factor=1)) as topics,
        psycopg.connect(database, autocommit=True) as conn,
        pytest.raises(SlotInUseError) as refused,
    ):
        late._stream(conn, topics, plan)
    return refused.value
