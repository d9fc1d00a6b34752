/**
 * The producer's options: what each means, its default, and its validation. Bad options fail
 * loudly when the Producer is constructed, never later in a send.
 */
import type { HttpOptions } from "../http";
import type { Outbox } from "../outbox";
import type { RetryOptions } from "./retry";

export interface ProducerOptions extends HttpOptions {
  /** How long a partition's records wait for more before they are sent (default 5 ms). */
  lingerMs?: number;
  /** Most records in one batch (default 1,000). */
  batchRecords?: number;
  /** Most bytes in one batch (default 256 KiB), never above the topic's max.message.bytes. */
  batchBytes?: number;
  compression?: "none" | "gzip";
  acks?: 0 | 1 | "all";
  /** Default { initialMs: 100, maxMs: 5_000, attempts: 10 }. */
  retries?: Partial<RetryOptions>;
  /** Asks POST /v1/producers for this transactional id's producer (bumping its epoch fences older instances). */
  transactionalId?: string;
  /**
   * Kafka's transaction.timeout.ms (1 to 900,000; the server's default 60,000): the server aborts
   * a transaction of this producer left open longer. Only with a transactionalId.
   */
  transactionTimeoutMs?: number;
  /** How long a topic's partition count and max.message.bytes are trusted (default 5 minutes, Kafka's metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  /** Where enqueue() keeps records until drain() sends them. */
  outbox?: Outbox;
  /** Called with the error of a drain started by an "online" event (the entries stay for the next drain). */
  onDrainError?: (err: unknown) => void;
}

/** The options a producer runs with: validated, every default filled in. */
export interface ProducerSettings {
  lingerMs: number;
  batchRecords: number;
  batchBytes: number;
  compression: "none" | "gzip";
  acks: 0 | 1 | "all";
  retries: RetryOptions;
  transactionalId: string | undefined;
  transactionTimeoutMs: number | undefined;
  metadataMaxAgeMs: number;
}

/** Validates the options and fills in their defaults; throws a TypeError naming the first bad one. */
export function producerSettings(options: ProducerOptions): ProducerSettings {
  const lingerMs = check("lingerMs", options.lingerMs ?? 5, 0);
  const batchRecords = check("batchRecords", options.batchRecords ?? 1_000, 1, true);
  const batchBytes = check("batchBytes", options.batchBytes ?? 256 * 1024, 1, true);
  const compression = options.compression ?? "none";
  if (compression !== "none" && compression !== "gzip") throw new TypeError(`compression must be "none" or "gzip"`);
  const acks = options.acks ?? "all";
  if (acks !== 0 && acks !== 1 && acks !== "all") throw new TypeError(`acks must be 0, 1 or "all"`);
  const initialMs = check("retries.initialMs", options.retries?.initialMs ?? 100, 0);
  const maxMs = check("retries.maxMs", options.retries?.maxMs ?? Math.max(5_000, initialMs), initialMs);
  const retries = { initialMs, maxMs, attempts: check("retries.attempts", options.retries?.attempts ?? 10, 1, true) };
  const transactionalId = options.transactionalId;
  if (
    transactionalId !== undefined &&
    (typeof transactionalId !== "string" || transactionalId.length === 0 || transactionalId.length > 255)
  ) {
    throw new TypeError("transactionalId must be a string of 1 to 255 characters");
  }
  const transactionTimeoutMs =
    options.transactionTimeoutMs === undefined ? undefined : check("transactionTimeoutMs", options.transactionTimeoutMs, 1, true);
  if (transactionTimeoutMs !== undefined && transactionTimeoutMs > 900_000)
    throw new TypeError("transactionTimeoutMs must be at most 900000");
  if (transactionTimeoutMs !== undefined && transactionalId === undefined)
    throw new TypeError("transactionTimeoutMs needs a transactionalId");
  if (transactionalId !== undefined && acks !== "all") throw new TypeError(`a transactionalId needs acks "all"`);
  const metadataMaxAgeMs = check("metadataMaxAgeMs", options.metadataMaxAgeMs ?? 300_000, 0);
  return { lingerMs, batchRecords, batchBytes, compression, acks, retries, transactionalId, transactionTimeoutMs, metadataMaxAgeMs };
}

function check(name: string, value: number, min: number, integer = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new TypeError(`${name} must be ${integer ? "an integer" : "a number"} of at least ${min}, got ${String(value)}`);
  }
  return value;
}
