"""Read one message from a queue with pika (basic_get) and describe it as JSON.

Usage: consume.py AMQP_URL QUEUE [TIMEOUT_SECONDS]
Prints every property and header, the decoded body, and the checks a fedora-messaging
consumer relies on, computed the Python way (uuid, datetime.fromisoformat, int).
"""

import datetime
import json
import sys
import time
import uuid

import pika


def is_uuid4(value):
    try:
        return uuid.UUID(value).version == 4
    except (TypeError, ValueError, AttributeError):
        return False


def parses_iso(value):
    try:
        datetime.datetime.fromisoformat(value)
        return True
    except (TypeError, ValueError):
        return False


def jsonable(value):
    if isinstance(value, bytes):
        return {"bytes": value.decode("utf-8", "replace")}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def main(url, queue, timeout="10"):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        deadline = time.monotonic() + float(timeout)
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is not None:
                break
            if time.monotonic() > deadline:
                sys.exit("no message in %s within %s s" % (queue, timeout))
            time.sleep(0.05)
    finally:
        connection.close()
    headers = props.headers or {}
    severity = headers.get("fedora_messaging_severity")
    out = {
        "exchange": method.exchange,
        "routing_key": method.routing_key,
        "properties": {
            "content_type": props.content_type,
            "content_encoding": props.content_encoding,
            "delivery_mode": props.delivery_mode,
            "message_id": props.message_id,
            "priority": props.priority,
            "timestamp": props.timestamp,
        },
        "headers": jsonable(headers),
        "header_types": {k: type(v).__name__ for k, v in headers.items()},
        "body": json.loads(body.decode(props.content_encoding or "utf-8")),
        "checks": {
            "message_id_is_uuid4": is_uuid4(props.message_id),
            "sent_at_parses": parses_iso(headers.get("sent-at")),
            "severity_is_int": type(severity) is int,
        },
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:4])
