"""The users "monolith": a small web app over PostgreSQL's public.users that knows nothing of pgcdc."""
