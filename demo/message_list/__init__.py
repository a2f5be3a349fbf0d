"""The message list: the new microservice that shows a topic's records live, newest first."""
