"""The service that hosts connectors: group state in Kafka, a runner per connector, failover by slot."""
