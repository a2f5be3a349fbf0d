"""The one error tree of pgcdc.

    PgcdcError                  base; ``retriable`` says whether retrying the same thing may succeed
    ├── ConfigError             a connector setting is missing, unknown or invalid (never retriable)
    ├── SourceError             PostgreSQL refused or failed
    │   ├── SourceSetupError    server or role not usable for CDC (wal_level, privileges, missing table)
    │   └── SlotInUseError      another reader holds the replication slot
    ├── DecodeError             a pgoutput frame could not be understood (never retriable)
    ├── SignalError             a row of the signal table could not be acted on (logged and skipped)
    ├── SinkError               Kafka refused or failed (broker down is retriable)
    │   ├── ProducerFencedError another instance took over the connector's transactional id (never retriable)
    │   ├── LoginRefusedError   the broker refused the client's credentials (never retriable)
    │   └── RecordTooLargeError a record over a size limit (never retriable)           produce/refused.py
    ├── ConnectorNotFoundError  the API's 404                                           worker/service.py
    ├── ConnectorExistsError    the API's 409                                           worker/service.py
    ├── ApiError                the REST API refused or could not be reached            client/api.py
    ├── DemoError               a part of ``pgcdc demo`` did not start or died          sandbox.py
    ├── EmbeddedPostgresError   the embedded PostgreSQL could not be set up or run      embedded/install.py
    └── EmbeddedBrokerError     the embedded broker could not be found or run           embedded/broker.py

Errors of one part only are defined beside it (the module on the right). Messages say what failed first and
what to do last; the commands print a PgcdcError as one ``pgcdc: error:`` line, never a traceback.
"""

from __future__ import annotations


class PgcdcError(Exception):
    """Base of every error pgcdc raises on purpose."""

    retriable: bool = False


class ConfigError(PgcdcError):
    """A connector setting is missing, unknown or has an invalid value."""


class SourceError(PgcdcError):
    """PostgreSQL failed or refused; retriable unless a subclass says otherwise."""

    retriable = True


class SourceSetupError(SourceError):
    """The server or role cannot be used for CDC as configured; fixing it needs a person."""

    retriable = False


class SlotInUseError(SourceError):
    """Another process is reading the replication slot; retried because it may let go."""

    retriable = True


class DecodeError(PgcdcError):
    """A pgoutput message could not be decoded."""


class SignalError(PgcdcError):
    """A signal (a row inserted into signal.data.collection) is malformed or names what cannot be snapshotted;
    the connector logs it and goes on streaming."""


class SinkError(PgcdcError):
    """Kafka refused or failed; retriable unless the broker rejected the record itself."""

    retriable = True


class ProducerFencedError(SinkError):
    """A newer producer with the same transactional.id fenced this one: another instance runs the connector."""

    retriable = False


class LoginRefusedError(SinkError):
    """The broker refused to authenticate the client (a wrong SASL user, password or mechanism): retrying the
    same credentials cannot succeed, so, as in Kafka Connect, the connector fails until someone fixes them."""

    retriable = False
