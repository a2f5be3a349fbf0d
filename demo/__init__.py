"""The demo's two apps: the users "monolith" (knows nothing of pgcdc) and the message list consumer."""
