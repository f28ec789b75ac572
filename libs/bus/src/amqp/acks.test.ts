import type { Channel } from "amqplib";
import { describe, expect, it } from "vitest";
import { AckBatcher } from "./acks.js";

/** A channel that records the frames it would send. */
function recorder() {
  const frames: string[] = [];
  let closed = false;
  const frame = (kind: string) => (m: { fields: { deliveryTag: number } }, multiple: boolean, requeue?: boolean) => {
    if (closed) throw new Error("Channel closed");
    frames.push(`${kind} ${m.fields.deliveryTag}${multiple ? " multiple" : ""}${requeue ? " requeue" : ""}`);
  };
  const channel = { ack: frame("ack"), nack: frame("nack") } as unknown as Channel;
  return { channel, frames, close: () => (closed = true) };
}

const turn = () => new Promise((r) => setImmediate(r));

describe("AckBatcher", () => {
  it("sends the acks of one turn as a single multiple ack", async () => {
    const { channel, frames } = recorder();
    const acks = new AckBatcher(channel);
    for (const tag of [1, 2, 3, 4]) acks.delivered(tag);
    const done = Promise.all([acks.ack(2), acks.ack(1), acks.ack(4), acks.ack(3)]);
    expect(frames).toEqual([]); // nothing before the turn ends
    await done;
    expect(frames).toEqual(["ack 4 multiple"]);
  });

  it("never covers a delivery still being handled: acks after it go singly", async () => {
    const { channel, frames } = recorder();
    const acks = new AckBatcher(channel);
    for (const tag of [1, 2, 3, 4, 5]) acks.delivered(tag);
    await Promise.all([acks.ack(1), acks.ack(2), acks.ack(4), acks.ack(5)]);
    expect(frames).toEqual(["ack 2 multiple", "ack 4", "ack 5"]);
    // 3 finishes later; 4 and 5 are not acked twice.
    await acks.ack(3);
    expect(frames.slice(3)).toEqual(["ack 3 multiple"]);
  });

  it("sends requeues at once and steps over them", async () => {
    const { channel, frames } = recorder();
    const acks = new AckBatcher(channel);
    for (const tag of [1, 2, 3]) acks.delivered(tag);
    acks.nack(2, true);
    expect(frames).toEqual(["nack 2 requeue"]);
    await Promise.all([acks.ack(1), acks.ack(3)]);
    expect(frames).toEqual(["nack 2 requeue", "ack 3 multiple"]);
  });

  it("rejects acks that can no longer be sent", async () => {
    const { channel, close } = recorder();
    const acks = new AckBatcher(channel);
    acks.delivered(1);
    acks.delivered(2);
    const pending = acks.ack(1);
    close();
    await expect(pending).rejects.toThrow("Channel closed");
    acks.fail(new Error("channel closed"));
    await expect(acks.ack(2)).rejects.toThrow("channel closed");
    expect(() => acks.nack(2, true)).toThrow("channel closed");
    await turn();
  });
});
