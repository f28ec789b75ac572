import { Bus, type BusDeps, type BusSettings, type Consumer, type ConsumerOptions, type Outcome } from "@atomic-ci/bus";
import type { BusMessage } from "@atomic-ci/bus";

export type HaltListener = (outcome: Extract<Outcome, { type: "halt" }>, message: BusMessage, consumer: string) => void;

/**
 * The Bus a service gets: the same API, but every consumer it starts reports a halt to the
 * runtime (which then shuts the service down with the halt's exit code), and the runtime can
 * tell "no consumer was ever started" (ready with nothing to consume) from "stopped".
 */
export class ServiceBus extends Bus {
  private started = 0;

  constructor(
    deps: BusDeps,
    settings: BusSettings,
    private readonly onHalt: HaltListener,
  ) {
    super(deps, settings);
  }

  /** Consumers started so far, stopped ones included. */
  get consumersStarted(): number {
    return this.started;
  }

  override async consume(options: ConsumerOptions): Promise<Consumer> {
    const consumer = await super.consume({
      ...options,
      onHalt: (outcome, message) => {
        options.onHalt?.(outcome, message);
        this.onHalt(outcome, message, options.queue);
      },
    });
    this.started += 1;
    return consumer;
  }
}
