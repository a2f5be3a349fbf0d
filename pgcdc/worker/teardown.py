"""Destroying a connector on the source: its replication slot and, when pgcdc made it, its publication."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

from pgcdc.config import ConnectorConfig
from pgcdc.errors import SourceError
from pgcdc.replication.publication import drop_publication
from pgcdc.replication.slot import drop_slot
from pgcdc.worker.slot_watch import CONNECT_TIMEOUT_S

# Between attempts to drop a slot that a worker is still letting go of (seconds).
RETRY_S = 0.2


@dataclass(frozen=True, slots=True)
class Teardown:
    """What destroying left behind on PostgreSQL, for the API's answer and the CLI's message."""

    slot: str
    slot_dropped: bool
    publication: str
    publication_dropped: bool
    publication_kept_because: str | None
    problem: str | None = None
    """Why the slot or publication could not be dropped, with what to run by hand."""


def tear_down(config: ConnectorConfig, *, publication_shared_with: str | None, timeout_s: float) -> Teardown:
    """Drop the slot once no worker reads it (they stop on the deleted config) and the publication.

    The publication stays when another connector of the group uses it or when the person made it
    (publication.autocreate.mode=disabled). Raises SourceError saying what is left and how to drop it.
    """
    slot = config.slot_name
    publication = config.publication_name
    deadline = time.monotonic() + timeout_s
    try:
        with psycopg.connect(
            config.database.conninfo(), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        ) as conn:
            while True:
                try:
                    slot_dropped = drop_slot(conn, slot)
                    break
                except psycopg.errors.ObjectInUse:
                    if time.monotonic() > deadline:
                        raise SourceError(
                            f"replication slot {slot!r} is still being read {timeout_s:.0f} s after the "
                            "connector was deleted; stop the process reading it (see pg_replication_slots."
                            f"active_pid), then run SELECT pg_drop_replication_slot('{slot}')"
                        ) from None
                    time.sleep(RETRY_S)
            kept_because = None
            if publication_shared_with is not None:
                kept_because = f"connector {publication_shared_with} uses it too"
            elif config.publication_autocreate_mode == "disabled":
                kept_because = "publication.autocreate.mode=disabled: it was not made by pgcdc"
            if kept_because is None:
                drop_publication(conn, publication)
    except psycopg.Error as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SourceError(
            f"cannot drop replication slot {slot!r} and publication {publication!r} on "
            f"{config.database.describe()}: {first}; drop them by hand "
            f"(SELECT pg_drop_replication_slot('{slot}'); "
            f'DROP PUBLICATION "{publication}";) or the slot keeps WAL forever'
        ) from err
    return Teardown(
        slot=slot,
        slot_dropped=slot_dropped,
        publication=publication,
        publication_dropped=kept_because is None,
        publication_kept_because=kept_because,
    )
