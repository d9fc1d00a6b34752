/**
 * Sending one batch, idempotently, as Kafka's producer with enable.idempotence and acks=all, to
 * POST /v1/topics/{t}/partitions/{p}/batches as one RecordBatch v2 (gzip when asked).
 *
 * Idempotence: a producer id and epoch from POST /v1/producers; each partition numbers its
 * records from 0, wrapping at 2^31. A batch is numbered when it is sent (never earlier), and a
 * partition has one batch in flight: a retry (network error, retriable 5xx, throttling) resends
 * the same bytes, which the partition answers with the first attempt's offsets, so a lost
 * response never stores a record twice.
 *
 * A batch that fails for good rejects the send() promises of its records with the EdgelogError:
 *   - a 4xx refusal (MESSAGE_TOO_LARGE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_RECORD...) applied
 *     nothing, so its sequence numbers are not used up: the partition's next batch takes them and
 *     later batches go on. A too-large batch of several records is first split in two and sent
 *     again, after re-reading the topic's max.message.bytes; only a single record is refused.
 *   - OUT_OF_ORDER_SEQUENCE_NUMBER (the server forgot a producer idle for 24 hours), or retries
 *     exhausted (REQUEST_TIMED_OUT: the outcome is unknown): the producer then asks for a new
 *     producer id, so no later batch can be mistaken for a retry of that one.
 *   - PRODUCER_FENCED (a newer instance with the same transactionalId), or INVALID_PRODUCER_EPOCH
 *     once it uses transactions: fatal, as in Kafka; every later send() rejects with it.
 *
 * Once a producer with a transactionalId uses transactions (`transactional` set, see
 * transaction.ts), every batch is transactional (it sends only inside a transaction): it carries
 * the transactional attribute and goes with the edgelog-transactional-id header. Such a producer
 * never asks for a new producer id by itself
 * (that would bump its epoch and fence a newer instance, were this one a zombie): a failure that
 * would make it ask (an unknown outcome, OUT_OF_ORDER_SEQUENCE_NUMBER) is fatal instead, as in
 * Kafka before KIP-360; close it and start a new instance, whose first call aborts what is open.
 * acks=0 sends without a producer id and without retries (idempotence needs acknowledgements, as
 * Kafka's needs acks=all); its offsets are null.
 */
import type { ProduceBatchesAnswer } from "../api-types";
import { EdgelogError } from "../../protocol/errors";
import { encodeBatch, type RecordInput } from "../../protocol/record-batch";
import { HEADERS, topicPartitionKey } from "../../protocol/wire";
import type { HttpTransport } from "../http";
import type { Pending } from "./batching";
import { ProducerIdentity, requestIdentity, type Identity } from "./identity";
import type { TopicMetadata } from "./metadata";
import type { ProducerSettings } from "./options";
import { retrying } from "./retry";

/** What a binary produce answers (acks=0 answers no batches). */
export type BatchAnswer = Pick<ProduceBatchesAnswer, "batches">;

/** A partition's sequence numbers, which count from 0 for each producer id. */
interface Sequence {
  identity: Identity | null;
  next: number;
}

const SEQUENCE_WRAP = 0x80000000;

export class Sender {
  #http: HttpTransport;
  #settings: ProducerSettings;
  #metadata: TopicMetadata;
  #identity: ProducerIdentity;
  #sequences = new Map<string, Sequence>();
  #fenced: EdgelogError | null = null;
  /** Whether batches are transactional: set once the producer uses transactions, never unset. */
  transactional = false;

  constructor(http: HttpTransport, settings: ProducerSettings, metadata: TopicMetadata) {
    this.#http = http;
    this.#settings = settings;
    this.#metadata = metadata;
    this.#identity = new ProducerIdentity(() =>
      requestIdentity(http, settings.retries, settings.transactionalId, settings.transactionTimeoutMs),
    );
  }

  /** PRODUCER_FENCED (or another fatal error, see the file comment): nothing is sent any more. */
  get fenced(): EdgelogError | null {
    return this.#fenced;
  }

  /** The producer id and epoch in use (asked for on the first call). */
  identity(): Promise<Identity> {
    return this.#identity.get();
  }

  /** Makes the producer fenced with `err` (the first error wins): every later send rejects with it. */
  fence(err: EdgelogError): void {
    this.#fenced ??= err;
  }

  /** Sends one batch and settles its records' promises; never throws. */
  async deliver(topic: string, partition: number, batch: Pending[]): Promise<void> {
    let base: number | null;
    try {
      base = await this.#attempt(
        topic,
        partition,
        batch.map((p) => p.record),
      );
    } catch (err) {
      if (err instanceof EdgelogError && err.code === "MESSAGE_TOO_LARGE" && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.deliver(topic, partition, batch.slice(0, half));
        return this.deliver(topic, partition, batch.slice(half));
      }
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => p.resolve(base === null ? null : base + i));
  }

  /** Posts one batch, retrying as send() does. */
  post(topic: string, partition: number, bytes: Uint8Array, acks: 0 | 1 | "all", headers?: Record<string, string>): Promise<BatchAnswer> {
    return retrying(this.#settings.retries, () => this.#postOnce(topic, partition, bytes, acks, headers));
  }

  /** Sends one batch until it is acknowledged or fails for good; answers its base offset (null with acks=0). */
  async #attempt(topic: string, partition: number, records: RecordInput[]): Promise<number | null> {
    if (this.#fenced) throw this.#fenced;
    const { acks, compression } = this.#settings;
    const info = await this.#metadata.get(topic);
    if (acks === 0) {
      await this.#postOnce(topic, partition, await encodeBatch(records, { compression }), 0);
      return null;
    }
    const identity = await this.#identity.get();
    const sequence = this.#sequence(topic, partition);
    if (sequence.identity !== identity) {
      sequence.identity = identity;
      sequence.next = 0;
    }
    const baseSequence = sequence.next;
    const isTransactional = this.transactional;
    const bytes = await encodeBatch(records, { ...identity, baseSequence, compression, isTransactional });
    if (bytes.length > info.maxMessageBytes && records.length > 1) {
      throw new EdgelogError("MESSAGE_TOO_LARGE", `a batch of ${bytes.length} bytes exceeds max.message.bytes ${info.maxMessageBytes}`);
    }
    let answer: BatchAnswer;
    try {
      const headers = isTransactional ? { [HEADERS.transactionalId]: this.#settings.transactionalId! } : undefined;
      answer = await this.post(topic, partition, bytes, acks, headers);
    } catch (err) {
      this.#failed(topic, identity, err);
      throw err;
    }
    sequence.next = (baseSequence + records.length) % SEQUENCE_WRAP;
    return answer.batches[0].baseOffset;
  }

  #sequence(topic: string, partition: number): Sequence {
    const key = topicPartitionKey(topic, partition);
    let sequence = this.#sequences.get(key);
    if (!sequence) {
      sequence = { identity: null, next: 0 };
      this.#sequences.set(key, sequence);
    }
    return sequence;
  }

  /** What a batch that failed for good leaves behind (see the module comment). */
  #failed(topic: string, identity: Identity, err: unknown): void {
    const code = err instanceof EdgelogError ? err.code : null;
    if (code === "PRODUCER_FENCED" || (this.transactional && code === "INVALID_PRODUCER_EPOCH")) this.fence(err as EdgelogError);
    else if (code === "OUT_OF_ORDER_SEQUENCE_NUMBER" || !appliedNothing(err)) {
      if (this.transactional) this.fence(fatal(err));
      else this.#identity.forget(identity);
    }
    if (code === "UNKNOWN_TOPIC_OR_PARTITION" || code === "MESSAGE_TOO_LARGE") this.#metadata.forget(topic);
  }

  async #postOnce(
    topic: string,
    partition: number,
    bytes: Uint8Array,
    acks: 0 | 1 | "all",
    headers?: Record<string, string>,
  ): Promise<BatchAnswer> {
    const res = await this.#http.send("POST", `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/batches?acks=${acks}`, {
      body: bytes,
      headers,
    });
    return (await res.json()) as BatchAnswer;
  }
}

/** A 4xx answer: the server applied nothing (the rule of protocol/errors.ts). */
function appliedNothing(err: unknown): boolean {
  return err instanceof EdgelogError && err.status < 500;
}

/** The error that ends a transactional producer whose sequences can no longer be trusted. */
function fatal(err: unknown): EdgelogError {
  if (err instanceof EdgelogError) return err;
  const wrapped = new EdgelogError(
    "UNKNOWN_SERVER_ERROR",
    `the producer cannot go on: ${err instanceof Error ? err.message : String(err)}`,
  );
  wrapped.cause = err;
  return wrapped;
}
