"""The REST API app factory: Kafka Connect's endpoints and error bodies over one worker, plus /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.exceptions import HTTPException

from pgcdc import __version__
from pgcdc.api import models
from pgcdc.api.auth import token_matches
from pgcdc.api.metrics import WorkerCollector
from pgcdc.api.shapes import (
    PLUGIN_CLASS,
    PLUGIN_NAMES,
    connector_info,
    connector_status,
    connector_topics,
    validate_config,
)
from pgcdc.errors import ConfigError, PgcdcError, SinkError
from pgcdc.worker.records import TargetState
from pgcdc.worker.service import ConnectorExistsError, ConnectorNotFoundError, Worker
from pgcdc.worker.topic_stats import TopicSampler

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": models.ErrorBody, "description": text}
    for code, text in (
        (400, "Invalid request or connector configuration."),
        (401, "Missing or wrong bearer token."),
        (404, "No such connector."),
        (409, "A connector of that name exists."),
        (503, "Kafka did not take the write in time; retry."),
    )
}


def _string_config(config: dict[str, models.ConfigValue]) -> dict[str, str]:
    return {
        key: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in config.items()
    }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error_code": status, "message": message}, status_code=status, headers=headers)


def create_app(*, worker: Worker, token: str | None) -> FastAPI:
    """The API of ``worker``; with a token, every request must carry ``Authorization: Bearer <token>``."""

    # Declares the bearer scheme in the OpenAPI document; the middleware below enforces it on every path,
    # the OpenAPI document and /metrics included.
    bearer = HTTPBearer(auto_error=False, description="The worker's token, when it has one.")

    app = FastAPI(
        title="pgcdc REST API",
        version=__version__,
        description=(
            "Kafka Connect's REST API for pgcdc workers: manage Debezium PostgresConnector connectors. "
            "Secrets are masked in every response; the `pgcdc` objects are pgcdc's additions."
        ),
        dependencies=[Depends(bearer)] if token is not None else [],
        responses={401: ERRORS[401]},
    )
    sampler = TopicSampler(admin=worker.admin, kafka=worker.settings.kafka)
    registry = CollectorRegistry(auto_describe=False)

    def states() -> dict[str, str]:
        return {name: status_of(name)["pgcdc"]["state"] for name in worker.names()}

    registry.register(WorkerCollector(views=worker.runner_views, states=states))

    @app.middleware("http")
    async def authorize(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if token is not None and not token_matches(request.headers.get("authorization"), token):
            return _error(
                401,
                "missing or wrong bearer token: send Authorization: Bearer <token>",
                {"WWW-Authenticate": "Bearer"},
            )
        return await call_next(request)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, err: HTTPException) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if err.status_code == 401 else None
        return _error(err.status_code, str(err.detail), headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(400, f"invalid request: {where or 'body'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(PgcdcError)
    def pgcdc_error(request: Request, err: PgcdcError) -> JSONResponse:
        if isinstance(err, ConnectorNotFoundError):
            return _error(404, str(err))
        if isinstance(err, ConnectorExistsError):
            return _error(409, str(err))
        if isinstance(err, ConfigError):
            return _error(
                400, f"Connector configuration is invalid and contains the following 1 error(s):\n{err}"
            )
        if isinstance(err, SinkError):
            return _error(503, str(err))
        return _error(500, str(err))

    def status_of(name: str) -> dict[str, Any]:
        stale_ms = int(worker.settings.status_interval_s * 3000)
        return connector_status(
            worker.connector(name), now_ms=int(time.time() * 1000), stale_after_ms=stale_ms
        )

    def info_of(name: str) -> dict[str, Any]:
        return connector_info(name, worker.connector(name).config)

    @app.get("/", response_model=models.ServerInfo, tags=["worker"])
    def server_info() -> dict[str, Any]:
        """Version of the worker and the Kafka cluster it keeps its state in."""
        return {"version": __version__, "commit": "", "kafka_cluster_id": worker.cluster_id}

    @app.get(
        "/connectors",
        response_model=list[str] | dict[str, models.ExpandedConnector],
        response_model_exclude_none=True,
        tags=["connectors"],
    )
    def list_connectors(
        expand: Annotated[list[str] | None, Query(description="status and/or info")] = None,
    ) -> Any:
        """Connector names; with ``expand=status`` and/or ``expand=info``, an object per connector."""
        names = worker.names()
        if not expand:
            return names
        result: dict[str, dict[str, Any]] = {}
        for name in names:
            entry: dict[str, Any] = {}
            try:
                if "status" in expand:
                    entry["status"] = status_of(name)
                if "info" in expand:
                    entry["info"] = info_of(name)
            except ConnectorNotFoundError:
                continue  # deleted meanwhile
            result[name] = entry
        return result

    @app.post(
        "/connectors",
        status_code=201,
        response_model=models.ConnectorInfo,
        responses={k: ERRORS[k] for k in (400, 409, 503)},
        tags=["connectors"],
    )
    def create_connector(body: models.CreateConnector, response: Response) -> dict[str, Any]:
        """Create a connector from Kafka Connect's ``{"name", "config"}``; a Debezium config works as is."""
        stored = worker.create(body.name, _string_config(body.config))
        response.headers["Location"] = f"/connectors/{body.name}"
        return connector_info(body.name, stored)

    @app.get(
        "/connectors/{name}",
        response_model=models.ConnectorInfo,
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def get_connector(name: str) -> dict[str, Any]:
        return info_of(name)

    @app.get(
        "/connectors/{name}/config",
        response_model=dict[str, str],
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def get_config(name: str) -> dict[str, str]:
        """The settings, secrets masked; PUT them back as they are and the secrets are kept."""
        return dict(info_of(name)["config"])

    @app.put(
        "/connectors/{name}/config",
        response_model=models.ConnectorInfo,
        responses={201: {"model": models.ConnectorInfo}, **{k: ERRORS[k] for k in (400, 503)}},
        tags=["connectors"],
    )
    def put_config(name: str, body: dict[str, models.ConfigValue], response: Response) -> dict[str, Any]:
        """Create or update; the connector restarts with the new settings without losing events."""
        created, stored = worker.put_config(name, _string_config(body))
        response.status_code = 201 if created else 200
        return connector_info(name, stored)

    @app.get(
        "/connectors/{name}/status",
        response_model=models.ConnectorStatus,
        response_model_exclude_none=True,
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def get_status(name: str) -> dict[str, Any]:
        return status_of(name)

    @app.get(
        "/connectors/{name}/tasks",
        response_model=list[models.TaskInfo],
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def get_tasks(name: str) -> list[dict[str, Any]]:
        info = info_of(name)
        return [{"id": {"connector": name, "task": 0}, "config": info["config"]}]

    @app.get(
        "/connectors/{name}/tasks/{task}/status",
        response_model=models.TaskState,
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def get_task_status(name: str, task: int) -> dict[str, Any]:
        tasks = status_of(name)["tasks"]
        if task != 0:
            raise HTTPException(404, f"Task {name}-{task} not found")
        return dict(tasks[0])

    @app.put("/connectors/{name}/pause", status_code=202, responses={404: ERRORS[404]}, tags=["connectors"])
    def pause(name: str) -> Response:
        """Stop streaming; the slot keeps every change until resume."""
        worker.set_target(name, TargetState.PAUSED)
        return Response(status_code=202)

    @app.put("/connectors/{name}/resume", status_code=202, responses={404: ERRORS[404]}, tags=["connectors"])
    def resume(name: str) -> Response:
        worker.set_target(name, TargetState.STARTED)
        return Response(status_code=202)

    @app.post(
        "/connectors/{name}/restart",
        status_code=204,
        responses={202: {"model": models.ConnectorStatus}, 404: ERRORS[404]},
        tags=["connectors"],
    )
    def restart(
        name: str,
        include_tasks: Annotated[bool, Query(alias="includeTasks")] = False,
        only_failed: Annotated[bool, Query(alias="onlyFailed")] = False,
    ) -> Response:
        """Restart now (with ``onlyFailed=true``, only if failed); a failed one stops waiting to retry."""
        worker.restart(name, only_failed=only_failed)
        if include_tasks or only_failed:
            return JSONResponse(status_of(name), status_code=202)
        return Response(status_code=204)

    @app.post(
        "/connectors/{name}/tasks/{task}/restart",
        status_code=204,
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def restart_task(name: str, task: int) -> Response:
        if task != 0:
            worker.connector(name)
            raise HTTPException(404, f"Task {name}-{task} not found")
        worker.restart(name, only_failed=False)
        return Response(status_code=204)

    @app.delete(
        "/connectors/{name}",
        status_code=204,
        responses={200: {"model": models.DeleteResult}, 404: ERRORS[404]},
        tags=["connectors"],
    )
    def delete_connector(
        name: str,
        details: Annotated[
            bool, Query(description="pgcdc: answer 200 with what was dropped and kept")
        ] = False,
    ) -> Response:
        """Stop the connector and drop its replication slot and publication; its topics stay."""
        snapshot = worker.connector(name)
        tables = status_of(name)["pgcdc"]["tables"]
        topics = connector_topics(
            snapshot.config,
            tables,
            kafka_prefix=worker.settings.kafka.topic_prefix,
            existing=worker.existing_topics(),
        )
        result = worker.delete(name)
        if not details:
            return Response(status_code=204)
        body = models.DeleteResult(
            slot=result.slot if result else None,
            slot_dropped=bool(result and result.slot_dropped),
            publication=result.publication if result else None,
            publication_dropped=bool(result and result.publication_dropped),
            publication_kept_because=result.publication_kept_because if result else None,
            problem=result.problem if result else None,
            topics_kept=topics,
        )
        return JSONResponse(body.model_dump(), status_code=200)

    @app.get(
        "/connectors/{name}/topics",
        response_model=dict[str, models.ConnectorTopics],
        responses={404: ERRORS[404]},
        tags=["connectors"],
    )
    def get_topics(name: str) -> dict[str, Any]:
        """Topics the connector writes that exist in Kafka (KIP-558's shape)."""
        snapshot = worker.connector(name)
        tables = status_of(name)["pgcdc"]["tables"]
        topics = connector_topics(
            snapshot.config,
            tables,
            kafka_prefix=worker.settings.kafka.topic_prefix,
            existing=worker.existing_topics(),
        )
        return {name: {"topics": topics}}

    @app.get("/connector-plugins", response_model=list[models.PluginInfo], tags=["plugins"])
    def plugins() -> list[dict[str, str]]:
        return [{"class": PLUGIN_CLASS, "type": "source", "version": __version__}]

    @app.put(
        "/connector-plugins/{plugin}/config/validate",
        response_model=models.ConfigInfos,
        responses={400: ERRORS[400]},
        tags=["plugins"],
    )
    def validate(plugin: str, body: dict[str, models.ConfigValue]) -> dict[str, Any]:
        """Check a config without creating anything; errors are attached to the setting they name."""
        if plugin not in PLUGIN_NAMES:
            raise HTTPException(
                400, f"Failed to find any class that implements Connector and which name matches {plugin}"
            )
        return validate_config(PLUGIN_CLASS, _string_config(body))

    @app.get("/pgcdc/topics", response_model=models.TopicList, tags=["pgcdc"])
    def topics() -> dict[str, Any]:
        """pgcdc: every topic with its messages and the rate they arrive at, like ``heroku kafka:topics``."""
        window, stats = sampler.stats()
        return {
            "window_s": round(window, 3),
            "topics": [
                {
                    "name": s.name,
                    "partitions": s.partitions,
                    "messages": s.messages,
                    "messages_per_sec": s.messages_per_sec,
                    "bytes_per_sec": s.bytes_per_sec,
                }
                for s in stats
            ],
        }

    @app.get("/metrics", tags=["worker"], response_class=Response)
    def metrics() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
