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
 *   - PRODUCER_FENCED (a newer instance with the same transactionalId): fatal, as in Kafka; every
 *     later send() rejects with it.
 * acks=0 sends without a producer id and without retries (idempotence needs acknowledgements, as
 * Kafka's needs acks=all); its offsets are null.
 */
import type { ProduceBatchesAnswer } from "../api-types";
import { EdgelogError } from "../../protocol/errors";
import { encodeBatch, type RecordInput } from "../../protocol/record-batch";
import { topicPartitionKey } from "../../protocol/wire";
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

  constructor(http: HttpTransport, settings: ProducerSettings, metadata: TopicMetadata) {
    this.#http = http;
    this.#settings = settings;
    this.#metadata = metadata;
    this.#identity = new ProducerIdentity(() => requestIdentity(http, settings.retries, settings.transactionalId));
  }

  /** PRODUCER_FENCED, once a newer instance fenced this one: nothing is sent any more. */
  get fenced(): EdgelogError | null {
    return this.#fenced;
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
  post(topic: string, partition: number, bytes: Uint8Array, acks: 0 | 1 | "all"): Promise<BatchAnswer> {
    return retrying(this.#settings.retries, () => this.#postOnce(topic, partition, bytes, acks));
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
    const bytes = await encodeBatch(records, { ...identity, baseSequence, compression });
    if (bytes.length > info.maxMessageBytes && records.length > 1) {
      throw new EdgelogError("MESSAGE_TOO_LARGE", `a batch of ${bytes.length} bytes exceeds max.message.bytes ${info.maxMessageBytes}`);
    }
    let answer: BatchAnswer;
    try {
      answer = await this.post(topic, partition, bytes, acks);
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
    if (code === "PRODUCER_FENCED") this.#fenced = err as EdgelogError;
    else if (code === "OUT_OF_ORDER_SEQUENCE_NUMBER" || !appliedNothing(err)) this.#identity.forget(identity);
    if (code === "UNKNOWN_TOPIC_OR_PARTITION" || code === "MESSAGE_TOO_LARGE") this.#metadata.forget(topic);
  }

  async #postOnce(topic: string, partition: number, bytes: Uint8Array, acks: 0 | 1 | "all"): Promise<BatchAnswer> {
    const res = await this.#http.send("POST", `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/batches?acks=${acks}`, {
      body: bytes,
    });
    return (await res.json()) as BatchAnswer;
  }
}

/** A 4xx answer: the server applied nothing (the rule of protocol/errors.ts). */
function appliedNothing(err: unknown): boolean {
  return err instanceof EdgelogError && err.status < 500;
}
