"""The API's request and response bodies: Kafka Connect's JSON shapes, plus a documented ``pgcdc`` object."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Kafka Connect takes configs as string maps; Jackson turns numbers and booleans into strings, and so do we,
# so that a Debezium config written with `"database.port": 5432` is accepted unchanged.
ConfigValue = str | int | float | bool | None


class ErrorBody(BaseModel):
    error_code: int = Field(description="The HTTP status, as Kafka Connect repeats it.")
    message: str


class ServerInfo(BaseModel):
    version: str
    commit: str
    kafka_cluster_id: str | None


class CreateConnector(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The connector's name; also its default topic prefix in the CLI.")
    config: dict[str, ConfigValue] = Field(description="Debezium PostgresConnector settings.")


class TaskId(BaseModel):
    connector: str
    task: int


class ConnectorInfo(BaseModel):
    name: str
    config: dict[str, str] = Field(description="The settings, with secrets masked.")
    tasks: list[TaskId]
    type: str = "source"


class TaskInfo(BaseModel):
    id: TaskId
    config: dict[str, str]


class PgcdcStatus(BaseModel):
    """pgcdc's own view of a connector, next to Kafka Connect's fields; more fields may appear."""

    model_config = ConfigDict(extra="allow")

    state: str = Field(description="creating, available, paused, failed or unassigned.")
    reason: str | None = Field(default=None, description="Why it is failed or unassigned.")
    retriable: bool | None = Field(default=None, description="Whether a failed connector is being retried.")
    attempt: int | None = Field(default=None, description="Failed attempts in a row.")
    next_retry_ms: int | None = Field(default=None, description="When the next attempt starts (epoch ms).")
    tables: list[str] = Field(default_factory=list, description="Captured tables, schema.table.")
    events_by_op: dict[str, int] = Field(default_factory=dict, description="Records written per op.")
    confirmed_lsn: str | None = Field(default=None, description="Position confirmed to the slot.")
    last_event_commit_ms: int | None = None
    ms_behind_source: int | None = Field(
        default=None, description="How long after its commit the newest event was written (ms)."
    )
    wal_retained_bytes: int | None = Field(
        default=None,
        description="WAL the slot keeps on the server: pg_current_wal_lsn() - confirmed_flush_lsn.",
    )
    wal_retained_warn_bytes: int | None = Field(
        default=None,
        description="slot.retained.wal.warn.bytes: retained WAL past which pgcdc warns (0: never).",
    )
    wal_retained_warning: str | None = Field(
        default=None,
        description="Set while wal_retained_bytes is over wal_retained_warn_bytes: what it means, what to do.",
    )
    updated_ms: int | None = Field(
        default=None, description="When the worker running it last reported (epoch ms)."
    )


class StateInfo(BaseModel):
    state: str = Field(description="Kafka Connect's state: UNASSIGNED, RUNNING, PAUSED or FAILED.")
    worker_id: str | None
    trace: str | None = None


class TaskState(StateInfo):
    id: int


class ConnectorStatus(BaseModel):
    name: str
    connector: StateInfo
    tasks: list[TaskState]
    type: str = "source"
    pgcdc: PgcdcStatus


class ExpandedConnector(BaseModel):
    status: ConnectorStatus | None = None
    info: ConnectorInfo | None = None


class ConnectorTopics(BaseModel):
    topics: list[str]


class PluginInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class", serialization_alias="class")
    type: str
    version: str


class ConfigKeyDefinition(BaseModel):
    name: str
    type: str
    required: bool
    default_value: str | None
    importance: str
    documentation: str
    group: str | None
    width: str
    display_name: str
    dependents: list[str]
    order: int


class ConfigValueInfo(BaseModel):
    name: str
    value: str | None
    recommended_values: list[str]
    errors: list[str]
    visible: bool


class ConfigEntry(BaseModel):
    definition: ConfigKeyDefinition
    value: ConfigValueInfo


class ConfigInfos(BaseModel):
    name: str
    error_count: int
    groups: list[str]
    configs: list[ConfigEntry]


class TopicStats(BaseModel):
    name: str
    partitions: int
    messages: int = Field(description="Records the topic holds now: high minus low watermark, summed.")
    messages_per_sec: float | None = Field(description="Records appended per second over the sample window.")
    bytes_per_sec: float | None = Field(
        description="Estimated: messages per second times the mean size of the newest records."
    )


class TopicList(BaseModel):
    window_s: float = Field(description="Seconds between the two samples the rates come from.")
    topics: list[TopicStats]


class DeleteResult(BaseModel):
    """pgcdc's answer to DELETE when asked with ``?details=true`` (Kafka Connect answers 204, no body)."""

    slot: str | None
    slot_dropped: bool
    publication: str | None
    publication_dropped: bool
    publication_kept_because: str | None
    problem: str | None = Field(
        default=None, description="What could not be dropped, and how to do it by hand."
    )
    topics_kept: list[str]
