import type { Bus, Consumer, ConsumerOptions, HandlerContext, MessageHandler } from "@atomic-ci/bus";
import type { BusMessage } from "@atomic-ci/bus";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import type { z } from "zod";
import type { CommonConfig } from "./config/common.js";

/** What a service's `setup` gets. */
export interface ServiceContext<C extends CommonConfig = CommonConfig> {
  bus: Bus;
  config: C;
  logger: Logger;
  metrics: Metrics;
  /**
   * Consume the service's queue (`bus.queue`) with its configured bindings and limits.
   * With no bindings there is nothing to consume: no queue is declared, it resolves to
   * undefined, and the service is ready as soon as its transport is connected.
   */
  consume(handler: MessageHandler, overrides?: Partial<Omit<ConsumerOptions, "handler">>): Promise<Consumer | undefined>;
  /** Close one of the service's own resources on shutdown, after consumers drained and before the transport closes. */
  onShutdown(name: string, close: () => Promise<void> | void): void;
}

export interface ServiceDefinition<C extends CommonConfig = CommonConfig> {
  /** Service name: names the queue (`atomic-ci.<name>`), logs and the RabbitMQ connection. */
  name: string;
  /** Extends `commonConfigSchema`; default the common schema itself. */
  configSchema?: z.ZodType<C>;
  /** Default `bus.bindings` (config and env can replace them). */
  bindings?: readonly string[];
  setup(ctx: ServiceContext<C>): Promise<void> | void;
}

/** The defaults layer a definition puts under the config file and env. */
export function defaultConfigOf(definition: Pick<ServiceDefinition, "name" | "bindings">): { service: string; bus: { bindings: string[] } } {
  return { service: definition.name, bus: { bindings: [...(definition.bindings ?? [])] } };
}

/** A MessageHandler that also gets the service's context (bus, config, logger, metrics). */
export type ServiceHandler<C extends CommonConfig = CommonConfig> = (
  message: BusMessage,
  context: HandlerContext,
  service: ServiceContext<C>,
) => ReturnType<MessageHandler>;

/**
 * The shape every service shell shares: a name, default bindings and one handler for its
 * queue. Services with more to wire write their own `setup` instead.
 */
export function defineService<C extends CommonConfig = CommonConfig>(spec: {
  name: string;
  bindings: readonly string[];
  handle: ServiceHandler<C>;
  configSchema?: z.ZodType<C>;
}): ServiceDefinition<C> & { bindings: readonly string[] } {
  const definition: ServiceDefinition<C> & { bindings: readonly string[] } = {
    name: spec.name,
    bindings: spec.bindings,
    async setup(ctx) {
      await ctx.consume((message, context) => spec.handle(message, context, ctx));
    },
  };
  if (spec.configSchema) definition.configSchema = spec.configSchema;
  return definition;
}

/** Placeholder handler of the service shells: log the message and ack it. */
export function logAndAck(message: BusMessage, context: HandlerContext): Promise<void> {
  context.log.info({ schema: message.schema }, "received");
  return Promise.resolve();
}
