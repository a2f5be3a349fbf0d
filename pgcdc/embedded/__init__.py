"""Throwaway PostgreSQL servers and Kafka brokers run as child processes, for tests, demos and benchmarks."""
