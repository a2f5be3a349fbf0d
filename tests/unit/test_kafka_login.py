"""The message of a refused Kafka login: the user, the mechanism, the broker's reason and what to check; never the
password. The texts are librdkafka 2.16's, as reported to error_cb against Tansu with ``--authentication``."""

from __future__ import annotations

from confluent_kafka import KafkaError

from pgcdc.produce.client import kafka_settings
from pgcdc.produce.login import login_refused

SCRAM_REFUSED = (
    "sasl_plaintext://127.0.0.1:19391/bootstrap: SASL authentication error: SASL SCRAM authentication failed: "
    "broker responded with unknown-user (after 104ms in state AUTH_REQ)"
)


def sasl_env(**extra: str) -> dict[str, str]:
    return {
        "PGCDC_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "PGCDC_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "PGCDC_KAFKA_SASL_USERNAME": "alice",
        "PGCDC_KAFKA_SASL_PASSWORD": "hunter2-secret",
        **extra,
    }


def test_a_refused_scram_login_names_user_mechanism_reason_and_settings() -> None:
    error = login_refused(
        kafka_settings("broker:9096", env=sasl_env()), KafkaError(KafkaError._AUTHENTICATION, SCRAM_REFUSED)
    )
    assert not error.retriable
    assert str(error) == (
        "Kafka at broker:9096 refused the SASL login of user 'alice' with mechanism SCRAM-SHA-512: SASL SCRAM "
        "authentication failed: broker responded with unknown-user. Check PGCDC_KAFKA_SASL_USERNAME / "
        "PGCDC_KAFKA_SASL_PASSWORD, and that the broker offers that mechanism (PGCDC_KAFKA_SASL_MECHANISM)"
    )


def test_the_password_is_masked_even_if_the_reason_repeats_it() -> None:
    error = login_refused(
        kafka_settings("broker:9096", env=sasl_env()),
        KafkaError(KafkaError.SASL_AUTHENTICATION_FAILED, "Authentication failed for hunter2-secret"),
    )
    assert "hunter2-secret" not in str(error)
    assert "Authentication failed for ********." in str(error)


def test_no_username_and_no_mechanism_are_said_so() -> None:
    env = sasl_env()
    del env["PGCDC_KAFKA_SASL_USERNAME"], env["PGCDC_KAFKA_SASL_MECHANISM"]
    error = login_refused(
        kafka_settings("broker:9096", env=env), KafkaError(KafkaError._AUTHENTICATION, "no")
    )
    assert (
        "refused the SASL login of a client without PGCDC_KAFKA_SASL_USERNAME with mechanism GSSAPI"
        in str(error)
    )


def test_a_refusal_without_sasl_points_at_the_security_protocol() -> None:
    error = login_refused(
        kafka_settings("kafka+ssl://broker:9096", env={}),
        KafkaError(KafkaError._AUTHENTICATION, "ssl://broker:9096/bootstrap: SSL handshake failed"),
    )
    assert str(error).startswith(
        "Kafka at broker:9096 refused to authenticate the client: SSL handshake failed. Check "
        "PGCDC_KAFKA_SECURITY_PROTOCOL"
    )
