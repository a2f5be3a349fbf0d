"""``pgcdc connectors`` and ``pgcdc topics``: a REST API client in the manner of Heroku's data:connectors."""
