import { headers as natsHeaders } from "nats";
import { describe, expect, it } from "vitest";
import type { WireProperties } from "../transport.js";
import { NATS_HEADERS, decodeHeaders, encodeHeaders } from "./headers.js";

const properties: WireProperties = {
  contentType: "application/json",
  contentEncoding: "utf-8",
  messageId: "6c2f4c0e-8c0a-4a57-9b1e-0c1d2e3f4a5b",
  deliveryMode: 2,
  priority: 4,
  timestamp: 1_700_000_000,
  headers: {
    fedora_messaging_schema: "koji_fedoramessaging.tag.TagV1",
    fedora_messaging_severity: 20,
    "fedora_messaging_user_me@example.org": true,
    "sent-at": "2019-07-30T19:12:22+00:00",
    numeric_text: "20",
    padded: " x ",
    "name with: colon": false,
    empty: null,
  },
};

describe("NATS header mapping", () => {
  it("round-trips properties and headers with their types", () => {
    const encoded = encodeHeaders(properties, { exchange: "amq.topic" });
    expect(encoded.get(NATS_HEADERS.msgId)).toBe(properties.messageId);
    expect(encoded.get(NATS_HEADERS.exchange)).toBe("amq.topic");
    expect(encoded.get("fm-h-fedora_messaging_severity")).toBe("20");
    expect(encoded.get("fm-h-numeric_text")).toBe('"20"');
    expect(encoded.keys().every((k) => /^[!-9;-~]+$/.test(k))).toBe(true);
    expect(decodeHeaders(encoded)).toEqual({ properties, exchange: "amq.topic" });
  });

  it("does not carry userId, which NATS cannot vouch for", () => {
    const decoded = decodeHeaders(encodeHeaders({ ...properties, userId: "mallory" }, { exchange: "amq.topic" }));
    expect(decoded.properties.userId).toBeUndefined();
  });

  it("keeps the message id apart from a different de-duplication id", () => {
    const encoded = encodeHeaders(properties, { exchange: "amq.topic", msgId: "dl:S:7:q" });
    expect(encoded.get(NATS_HEADERS.msgId)).toBe("dl:S:7:q");
    expect(decodeHeaders(encoded).properties.messageId).toBe(properties.messageId);
  });

  it("is lenient with foreign publishers", () => {
    expect(decodeHeaders(undefined)).toEqual({ properties: { headers: {} }, exchange: undefined });
    const foreign = natsHeaders();
    foreign.set("fm-h-plain", "not json");
    foreign.set("fm-h-object", '{"a":1}');
    foreign.set("priority", "high");
    foreign.set("X-Other", "ignored");
    expect(decodeHeaders(foreign)).toEqual({ properties: { headers: { plain: "not json", object: '{"a":1}' } }, exchange: undefined });
  });
});
