"""Publish one message exactly as fedora-messaging's publisher would, with pika.

Usage: publish.py AMQP_URL ROUTING_KEY FIXTURE_JSON
FIXTURE_JSON is a fedora-messaging dump ({"topic", "headers", "body", ...}). The schema
headers and the user/rpm headers come from the dump; message_id and sent-at are fresh, as
for any new publish. Prints {"id", "sent_at", "routing_key"} as JSON on stdout.
"""

import datetime
import json
import sys
import uuid

import pika


def main(url, routing_key, fixture_path):
    with open(fixture_path, encoding="utf-8") as f:
        fixture = json.load(f)
    headers = dict(fixture["headers"])
    # fedora_messaging.message.Message: UTC, no microseconds, "+00:00".
    sent_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    headers["sent-at"] = sent_at
    message_id = str(uuid.uuid4())
    properties = pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        headers=headers,
        message_id=message_id,
        priority=fixture.get("priority") or 0,
    )
    body = json.dumps(fixture["body"], sort_keys=True).encode("utf-8")
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        # Raises UnroutableError / NackError like fedora-messaging's PublishReturned.
        channel.basic_publish("amq.topic", routing_key, body, properties, mandatory=True)
    finally:
        connection.close()
    json.dump({"id": message_id, "sent_at": sent_at, "routing_key": routing_key}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:4])
