import type { Channel, Message } from "amqplib";

/** The fate of every ack asked for in one turn: they go out in the same frames. */
interface Turn {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

let made: Omit<Turn, "promise"> | undefined;
// Module-level executor: no closure is created per turn (see the note in delivery.ts).
function capture(resolve: () => void, reject: (err: Error) => void): void {
  made = { resolve, reject };
}

function newTurn(): Turn {
  const promise = new Promise<void>(capture);
  const { resolve, reject } = made as Omit<Turn, "promise">;
  // Each ack() caller handles the rejection; this keeps an unobserved one from being "unhandled".
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** amqplib's ack/nack only read the delivery tag of the message they are given. */
const tagged = (deliveryTag: number) => ({ fields: { deliveryTag } }) as unknown as Message;

/**
 * Settles the deliveries of one consumer channel, coalescing acks: the acks asked for in
 * one event-loop turn become one `basic.ack(multiple)` for the run of tags up to the first
 * delivery still being handled, plus single acks after it. One frame instead of one per
 * message halves the client's CPU per message and spares the broker as much.
 * Requeues go out at once (they must not wait behind an ack).
 */
export class AckBatcher {
  /** Delivery tags in delivery order (tags only grow on a channel); live from `head`. */
  private tags: number[] = [];
  private head = 0;
  /** Acks asked for and not sent yet. */
  private readonly acked = new Set<number>();
  /** Settled by other means (nack, single ack) and not yet passed by `head`. */
  private readonly settled = new Set<number>();
  private turn: Turn | undefined;
  private dead: Error | undefined;
  private readonly flushNow = () => this.flush();

  constructor(private readonly channel: Channel) {}

  delivered(tag: number): void {
    this.tags.push(tag);
  }

  /** Resolves once the ack is written (with the others of this turn). */
  ack(tag: number): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    this.acked.add(tag);
    if (!this.turn) {
      this.turn = newTurn();
      setImmediate(this.flushNow);
    }
    return this.turn.promise;
  }

  /** Send a nack now; throws (amqplib's error) when the channel is gone. */
  nack(tag: number, requeue: boolean): void {
    if (this.dead) throw this.dead;
    this.channel.nack(tagged(tag), false, requeue);
    this.settled.add(tag);
  }

  /** Send the acks asked for so far. */
  flush(): void {
    const turn = this.turn;
    this.turn = undefined;
    if (this.acked.size === 0) {
      if (this.dead) turn?.reject(this.dead);
      else turn?.resolve();
      return;
    }
    try {
      let upTo = -1;
      while (this.head < this.tags.length) {
        const tag = this.tags[this.head] as number;
        if (this.acked.delete(tag)) upTo = tag;
        else if (!this.settled.delete(tag)) break; // still being handled
        this.head += 1;
      }
      if (upTo >= 0) this.channel.ack(tagged(upTo), true);
      for (const tag of this.acked) {
        this.channel.ack(tagged(tag), false);
        this.settled.add(tag);
      }
      this.acked.clear();
      if (this.head > 1024 && this.head * 2 > this.tags.length) {
        this.tags = this.tags.slice(this.head);
        this.head = 0;
      }
      turn?.resolve();
    } catch (err) {
      turn?.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The channel closed: acks not sent can never be (the broker redelivers those messages). */
  fail(err: Error): void {
    this.dead = err;
    this.acked.clear();
    const turn = this.turn;
    this.turn = undefined;
    turn?.reject(err);
  }
}
