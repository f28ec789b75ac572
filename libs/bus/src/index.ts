export { Bus } from "./bus.js";
export type { BusDeps, BusSettings, PublishOptions, Published } from "./bus.js";
export { Consumer, CONSUMER_DEFAULTS, resolveConsumerOptions } from "./consumer.js";
export type { ConsumerOptions, ResolvedConsumerOptions, ConsumerDeps, HandlerContext, MessageHandler } from "./consumer.js";
export { encodeMessage, decodeMessage, sentAtNow, FEDORA_MESSAGING_HEADERS } from "./envelope.js";
export type { BusMessage, DecodeResult, EncodeOptions } from "./envelope.js";
export { BusError, InvalidMessageError, isBusError, errorMessage } from "./errors.js";
export type { BusErrorCode } from "./errors.js";
export { Outcomes } from "./outcome.js";
export type { Outcome } from "./outcome.js";
export { DEAD_LETTER_HEADERS, deadLetterHeaders } from "./transport.js";
export type {
  Transport,
  WireMessage,
  WireProperties,
  Headers,
  HeaderValue,
  Delivery,
  DeliveryHandler,
  ConsumeSpec,
  ConsumerHandle,
  DeadLetterInfo,
  DeadLetterReason,
  TransportEvents,
} from "./transport.js";
export type { IdempotencyStore, ClaimResult } from "./idempotency/store.js";
export { MemoryIdempotencyStore } from "./idempotency/memory.js";
export { LeaseSweeper, type HeldClaim } from "./idempotency/lease-sweeper.js";
export { RedisIdempotencyStore, REDIS_IDEMPOTENCY_DEFAULTS, type RedisIdempotencyOptions } from "./idempotency/redis.js";
export { MemoryBroker } from "./memory/broker.js";
export { MemoryTransport } from "./memory/transport.js";
export { AmqpTransport } from "./amqp/transport.js";
export type { AmqpTransportDeps } from "./amqp/transport.js";
export { resolveAmqpOptions, AMQP_DEFAULTS } from "./amqp/options.js";
export type { AmqpOptions, AmqpTlsOptions, AmqpClientProperties, ReconnectPolicy, ResolvedAmqpOptions } from "./amqp/options.js";
export { NatsTransport } from "./nats/transport.js";
export type { NatsTransportDeps } from "./nats/transport.js";
export { resolveNatsOptions, NATS_DEFAULTS } from "./nats/options.js";
export type { NatsOptions, ResolvedNatsOptions, NatsTlsOptions } from "./nats/options.js";
export { deadLetterSubject, durableName } from "./nats/subjects.js";
export { RedisLink, type RedisLinkOptions } from "./redis-link.js";
