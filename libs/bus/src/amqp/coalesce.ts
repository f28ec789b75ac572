import type { Writable } from "node:stream";

/**
 * Make every write a socket gets in one event-loop turn go out as one `writev`.
 *
 * amqplib writes each frame (a publish is one or two chunks, an ack one) with its own
 * `socket.write`, and the socket has TCP_NODELAY (so a lone publish or ack never waits on
 * Nagle and delayed ACKs): every chunk became its own syscall and TCP segment, and the broker
 * had to read each one. Under a burst of publishes that cost about a third of the throughput
 * against a socket with Nagle on. Corking on the first write of a turn and uncorking on the
 * next tick sends the turn's chunks together, and still sends them within that turn.
 * Backpressure is unchanged: a corked socket's `write` returns false once its buffer passes
 * the high-water mark, and amqplib waits for `drain` as before.
 */
export function coalesceWrites(socket: Writable): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  const coalesced = (...args: unknown[]): boolean => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  };
  socket.write = coalesced as Writable["write"];
}
