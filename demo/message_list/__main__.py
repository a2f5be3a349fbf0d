"""``python -m demo.message_list``: serve the message list of KAFKA_TOPIC from KAFKA_URL.

KAFKA_URL is ``host:port[,...]`` or Heroku's ``kafka+ssl://`` list (with KAFKA_TRUSTED_CERT,
KAFKA_CLIENT_CERT, KAFKA_CLIENT_CERT_KEY and KAFKA_PREFIX), read as pgcdc reads it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from demo.message_list.app import HERE, Source, create_app, record_handler
from demo.message_list.inbox import Inbox
from demo.message_list.reader import TopicReader
from demo.message_list.render import Renderer
from pgcdc.errors import ConfigError
from pgcdc.produce.client import kafka_settings

KEEP = 200
"""Records kept and shown; the oldest go first."""
VALUE_LIMIT = 256 * 1024
"""Bytes of a key or value parsed and shown in full; a larger one shows its first 2 KiB."""
KEEP_CHARS = 64 * 1024 * 1024
"""Characters of rendered HTML kept (about 10 per byte of JSON shown): bounds memory, and a page's size."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.message_list", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8001")))
    parser.add_argument("--topic", default=os.environ.get("KAFKA_TOPIC"), help="default: $KAFKA_TOPIC")
    parser.add_argument("--group", default=os.environ.get("KAFKA_GROUP", "message-list"))
    parser.add_argument("--keep", type=int, default=KEEP, help=f"records kept (default {KEEP})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.topic:
        sys.exit(
            "message list: set KAFKA_TOPIC (or --topic) to the topic to show, e.g. users_connector.public.users"
        )
    try:
        kafka = kafka_settings()
    except ConfigError as err:
        sys.exit(f"message list: {err}")
    inbox = Inbox(keep=args.keep, max_chars=KEEP_CHARS)
    renderer = Renderer(templates=HERE / "templates")
    reader = TopicReader(
        kafka=kafka,
        topic=args.topic,
        group=args.group,
        backlog=args.keep,
        handle=record_handler(inbox=inbox, renderer=renderer, limit=VALUE_LIMIT),
    )
    source = Source(topic=reader.topic, group=reader.group, status=lambda: reader.status, run=reader.run)
    app = create_app(inbox=inbox, renderer=renderer, source=source)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
