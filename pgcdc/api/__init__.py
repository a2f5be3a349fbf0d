"""Kafka Connect's REST API over a worker, with OpenAPI, bearer-token auth and Prometheus metrics."""
