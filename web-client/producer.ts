/**
 * An idempotent, batching producer, as Kafka's with enable.idempotence and acks=all.
 *
 * - Placement, as the server's JSON API and Kafka's default partitioner: an explicit partition
 *   wins; a keyed record goes to partitionForKey(keyBytes) (murmur2); unkeyed records stick to one
 *   partition per topic until a batch of it is complete, then move on (KIP-480).
 * - Batching: records wait per (topic, partition) for up to `lingerMs`, or until `batchRecords`
 *   records or `batchBytes` bytes (never above the topic's max.message.bytes), then go out as one
 *   RecordBatch v2 (gzip when asked) to POST /v1/topics/{t}/partitions/{p}/batches.
 * - Idempotence: a producer id and epoch from POST /v1/producers; each partition numbers its
 *   records from 0, wrapping at 2^31. A batch is numbered when it is sent (never earlier), and a
 *   partition has one batch in flight: a retry (network error, retriable 5xx, throttling) resends
 *   the same bytes, which the partition answers with the first attempt's offsets, so a lost
 *   response never stores a record twice.
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
 *
 * Offline, enqueue() appends records to an IndexedDB outbox and drain() sends them once and in
 * order (outbox.ts). In a browser, drain() also runs on each "online" event.
 *
 * @example
 * const producer = new Producer({ url: "http://127.0.0.1:8787", compression: "gzip" });
 * const [{ partition, offset }] = await producer.send("sensors", [{ key: "device-7", value: { celsius: 21.5 } }]);
 * await producer.close();
 */
import { EdgelogError } from "../protocol/errors";
import { CONTENT_TYPE, JSON_CONTENT_TYPE } from "../protocol/json-record";
import { partitionForKey } from "../protocol/murmur2";
import { RECORD_BATCH_OVERHEAD, encodeBatch, type RecordHeader, type RecordInput } from "../protocol/record-batch";
import { HttpTransport, type HttpOptions } from "./http";
import { drainOutbox, toStoredRecord, type DrainResult, type Outbox, type OutboxChannel } from "./outbox";

/** A record to produce. */
export interface ProducerRecord {
  /** Places the record (murmur2 of its bytes); a string is stored as UTF-8. */
  key?: string | Uint8Array | null;
  /**
   * As the JSON API stores it: a string as its UTF-8 bytes, bytes as they are, null as a tombstone,
   * any other JSON value as JSON text with the header content-type: application/json.
   */
  value: unknown;
  /** Header values are stored as UTF-8. A content-type header is dropped unless the value is bytes. */
  headers?: Record<string, string | null>;
  partition?: number;
  /** Create time in ms; default: when send() or enqueue() was called. */
  timestamp?: number;
}

/** Where a record was stored. `offset` is null with acks=0. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number | null;
}

/** Jittered exponential backoff: the n-th wait is drawn from [d/2, d], d = min(maxMs, initialMs * 2^(n-1)). */
export interface RetryOptions {
  initialMs: number;
  maxMs: number;
  /** Tries of one request, the first included. */
  attempts: number;
}

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
  /** How long a topic's partition count and max.message.bytes are trusted (default 5 minutes, Kafka's metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  /** Where enqueue() keeps records until drain() sends them. */
  outbox?: Outbox;
  /** Called with the error of a drain started by an "online" event (the entries stay for the next drain). */
  onDrainError?: (err: unknown) => void;
}

/** A producer id and epoch, as POST /v1/producers answers them. */
export interface Identity {
  producerId: number;
  producerEpoch: number;
}

/** What placing and batching need to know of a topic. */
export interface TopicInfo {
  partitions: number;
  maxMessageBytes: number;
}

interface PlacedRecord {
  record: RecordInput;
  key: Uint8Array | null;
  partition: number | undefined;
  size: number;
}

interface Pending {
  record: RecordInput;
  resolve(offset: number | null): void;
  reject(err: unknown): void;
}

/** One partition's records: the batch filling up, the batches ready, and its sequence numbers. */
interface Lane {
  topic: string;
  partition: number;
  partitions: number;
  open: Pending[];
  openBytes: number;
  timer: ReturnType<typeof setTimeout> | null;
  ready: Pending[][];
  sending: boolean;
  identity: Identity | null;
  sequence: number;
}

interface BatchAnswer {
  batches: { baseOffset: number; lastOffset: number; duplicate: boolean }[];
}

const SEQUENCE_WRAP = 0x80000000;
const encoder = new TextEncoder();
const JSON_HEADER_VALUE = encoder.encode(JSON_CONTENT_TYPE);
const noop = () => {};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Producer {
  readonly http: HttpTransport;
  #lingerMs: number;
  #batchRecords: number;
  #batchBytes: number;
  #compression: "none" | "gzip";
  #acks: 0 | 1 | "all";
  #retries: RetryOptions;
  #transactionalId: string | undefined;
  #metadataMaxAgeMs: number;
  #outbox: Outbox | undefined;
  #topics = new Map<string, { info: Promise<TopicInfo>; at: number }>();
  #lanes = new Map<string, Lane>();
  #sticky = new Map<string, number>();
  /** Places send() calls one after another, so records of one partition keep the calls' order. */
  #intake: Promise<void> = Promise.resolve();
  #unsettled = new Set<Promise<void>>();
  #identity: Promise<Identity> | null = null;
  #currentIdentity: Identity | null = null;
  #fenced: EdgelogError | null = null;
  #closing: Promise<void> | null = null;
  #drains = new Set<Promise<unknown>>();
  #onOnline: (() => void) | null = null;
  #channel: OutboxChannel;

  constructor(options: ProducerOptions) {
    this.http = new HttpTransport(options);
    this.#lingerMs = check("lingerMs", options.lingerMs ?? 5, 0);
    this.#batchRecords = check("batchRecords", options.batchRecords ?? 1_000, 1, true);
    this.#batchBytes = check("batchBytes", options.batchBytes ?? 256 * 1024, 1, true);
    this.#compression = options.compression ?? "none";
    if (this.#compression !== "none" && this.#compression !== "gzip") throw new TypeError(`compression must be "none" or "gzip"`);
    this.#acks = options.acks ?? "all";
    if (this.#acks !== 0 && this.#acks !== 1 && this.#acks !== "all") throw new TypeError(`acks must be 0, 1 or "all"`);
    const initialMs = check("retries.initialMs", options.retries?.initialMs ?? 100, 0);
    const maxMs = check("retries.maxMs", options.retries?.maxMs ?? Math.max(5_000, initialMs), initialMs);
    this.#retries = { initialMs, maxMs, attempts: check("retries.attempts", options.retries?.attempts ?? 10, 1, true) };
    const tid = options.transactionalId;
    if (tid !== undefined && (typeof tid !== "string" || tid.length === 0 || tid.length > 255)) throw new TypeError("transactionalId must be a string of 1 to 255 characters");
    this.#transactionalId = tid;
    this.#metadataMaxAgeMs = check("metadataMaxAgeMs", options.metadataMaxAgeMs ?? 300_000, 0);
    this.#outbox = options.outbox;
    this.#channel = this.#outboxChannel();
    const target = globalThis as unknown as { addEventListener?: (type: string, listener: () => void) => void };
    if (this.#outbox && typeof target.addEventListener === "function") {
      this.#onOnline = () => void this.drain().catch((err) => options.onDrainError?.(err));
      target.addEventListener("online", this.#onOnline);
    }
  }

  /**
   * Sends records and resolves, in their order, with where each was stored once acknowledged
   * (per `acks`). Rejects with the EdgelogError of a batch that failed for good.
   *
   * @example
   * await producer.send("orders", [{ key: "customer-9", value: { total: 42 } }, { value: "plain text" }]);
   */
  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    this.#checkOpen();
    checkTopic(topic);
    const inputs = toPlacedRecords(records, Date.now());
    const placing = this.#intake.then(() => this.#place(topic, inputs));
    this.#intake = placing.then(noop, noop);
    const acknowledged = placing.then((each) => Promise.all(each));
    const settled = acknowledged.then(noop, noop);
    this.#unsettled.add(settled);
    void settled.then(() => this.#unsettled.delete(settled));
    return acknowledged;
  }

  /** Sends every record given so far now, and resolves once they are all acknowledged or failed. */
  async flush(): Promise<void> {
    const pending = [...this.#unsettled];
    await this.#intake;
    for (const lane of this.#lanes.values()) this.#seal(lane);
    await Promise.all(pending);
  }

  /** Flushes, waits for drains in progress, and stops: later calls reject. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#onOnline) (globalThis as unknown as { removeEventListener(type: string, l: () => void): void }).removeEventListener("online", this.#onOnline);
      await this.flush();
      await Promise.all([...this.#drains].map((d) => d.catch(noop)));
    })();
    return this.#closing;
  }

  /**
   * Appends records to the outbox, durably, and resolves with their outbox ids; no network.
   * Their timestamps default to now, when they were produced. drain() sends them.
   *
   * @example
   * await producer.enqueue("readings", [{ key: "device-7", value: { celsius: 21.5 } }]);
   */
  async enqueue(topic: string, records: ProducerRecord[]): Promise<number[]> {
    const outbox = this.#requireOutbox();
    this.#checkOpen();
    checkTopic(topic);
    const inputs = toPlacedRecords(records, Date.now());
    return outbox.append(topic, inputs.map((r) => toStoredRecord(r.record, r.partition)));
  }

  /**
   * Sends the outbox, oldest first, with the outbox's own persisted producer id, and removes
   * entries only once acknowledged (see outbox.ts). Rejects when the server cannot be reached;
   * what was not acknowledged stays for the next drain.
   */
  drain(): Promise<DrainResult> {
    const outbox = this.#requireOutbox();
    if (this.#closing) return Promise.reject(new Error("the producer is closed"));
    const run = drainOutbox(outbox, this.#channel);
    const tracked = run.then(noop, noop);
    this.#drains.add(tracked);
    void tracked.then(() => this.#drains.delete(tracked));
    return run;
  }

  #checkOpen(): void {
    if (this.#closing) throw new Error("the producer is closed");
    if (this.#fenced) throw this.#fenced;
  }

  #requireOutbox(): Outbox {
    if (!this.#outbox) throw new TypeError("this producer has no outbox: pass { outbox: await Outbox.open() }");
    return this.#outbox;
  }

  /** Picks each record's partition and adds it to its lane; one promise per record. */
  async #place(topic: string, records: PlacedRecord[]): Promise<Promise<RecordMetadata>[]> {
    if (this.#fenced) throw this.#fenced;
    let info = await this.#topic(topic);
    let highest = -1;
    for (const r of records) if (r.partition !== undefined && r.partition > highest) highest = r.partition;
    if (highest >= info.partitions) info = await this.#topic(topic, true); // it may have grown
    if (highest >= info.partitions) {
      throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has no partition ${highest} (it has ${info.partitions})`);
    }
    return records.map((r) => {
      const partition = r.partition ?? (r.key !== null ? partitionForKey(r.key, info.partitions) : this.#stickyPartition(topic, info.partitions));
      return this.#append(topic, partition, info, r).then((offset) => ({ topic, partition, offset }));
    });
  }

  #append(topic: string, partition: number, info: TopicInfo, r: PlacedRecord): Promise<number | null> {
    const key = `${topic}\u0000${partition}`;
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { topic, partition, partitions: 0, open: [], openBytes: 0, timer: null, ready: [], sending: false, identity: null, sequence: 0 };
      this.#lanes.set(key, lane);
    }
    lane.partitions = info.partitions;
    const room = Math.min(this.#batchBytes, info.maxMessageBytes) - RECORD_BATCH_OVERHEAD;
    const target = lane;
    return new Promise((resolve, reject) => {
      if (target.open.length > 0 && target.openBytes + r.size > room) this.#seal(target);
      target.open.push({ record: r.record, resolve, reject });
      target.openBytes += r.size;
      if (target.open.length >= this.#batchRecords || target.openBytes >= room) this.#seal(target);
      else target.timer ??= setTimeout(() => this.#seal(target), this.#lingerMs);
    });
  }

  /** Closes the lane's filling batch and lets it go. */
  #seal(lane: Lane): void {
    if (lane.timer !== null) clearTimeout(lane.timer);
    lane.timer = null;
    if (lane.open.length === 0) return;
    lane.ready.push(lane.open);
    lane.open = [];
    lane.openBytes = 0;
    this.#moveSticky(lane.topic, lane.partition, lane.partitions);
    void this.#pump(lane);
  }

  /** Sends the lane's ready batches one at a time, in order. */
  async #pump(lane: Lane): Promise<void> {
    if (lane.sending) return;
    lane.sending = true;
    try {
      for (let batch = lane.ready.shift(); batch; batch = lane.ready.shift()) await this.#deliver(lane, batch);
    } finally {
      lane.sending = false;
    }
  }

  /** Sends one batch and settles its records' promises; never throws. */
  async #deliver(lane: Lane, batch: Pending[]): Promise<void> {
    let base: number | null;
    try {
      base = await this.#attempt(lane, batch.map((p) => p.record));
    } catch (err) {
      if (err instanceof EdgelogError && err.code === "MESSAGE_TOO_LARGE" && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.#deliver(lane, batch.slice(0, half));
        return this.#deliver(lane, batch.slice(half));
      }
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => p.resolve(base === null ? null : base + i));
  }

  /** Sends one batch until it is acknowledged or fails for good; answers its base offset (null with acks=0). */
  async #attempt(lane: Lane, records: RecordInput[]): Promise<number | null> {
    if (this.#fenced) throw this.#fenced;
    const info = await this.#topic(lane.topic);
    if (this.#acks === 0) {
      await this.#post(lane.topic, lane.partition, await encodeBatch(records, { compression: this.#compression }), 0);
      return null;
    }
    const identity = await this.#producerId();
    if (lane.identity !== identity) {
      lane.identity = identity;
      lane.sequence = 0;
    }
    const baseSequence = lane.sequence;
    const bytes = await encodeBatch(records, { ...identity, baseSequence, compression: this.#compression });
    if (bytes.length > info.maxMessageBytes && records.length > 1) {
      throw new EdgelogError("MESSAGE_TOO_LARGE", `a batch of ${bytes.length} bytes exceeds max.message.bytes ${info.maxMessageBytes}`);
    }
    let answer: BatchAnswer;
    try {
      answer = await this.#retrying(() => this.#post(lane.topic, lane.partition, bytes, this.#acks));
    } catch (err) {
      this.#failed(lane.topic, identity, err);
      throw err;
    }
    lane.sequence = (baseSequence + records.length) % SEQUENCE_WRAP;
    return answer.batches[0].baseOffset;
  }

  /** What a batch that failed for good leaves behind (see the module comment). */
  #failed(topic: string, identity: Identity, err: unknown): void {
    const code = err instanceof EdgelogError ? err.code : null;
    if (code === "PRODUCER_FENCED") this.#fenced = err as EdgelogError;
    else if (code === "OUT_OF_ORDER_SEQUENCE_NUMBER" || !appliedNothing(err)) {
      if (this.#currentIdentity === identity) {
        this.#identity = null;
        this.#currentIdentity = null;
      }
    }
    if (code === "UNKNOWN_TOPIC_OR_PARTITION" || code === "MESSAGE_TOO_LARGE") this.#topics.delete(topic);
  }

  async #post(topic: string, partition: number, bytes: Uint8Array, acks: 0 | 1 | "all"): Promise<BatchAnswer> {
    const res = await this.http.send("POST", `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/batches?acks=${acks}`, { body: bytes });
    return (await res.json()) as BatchAnswer;
  }

  #producerId(): Promise<Identity> {
    if (!this.#identity) {
      const body = this.#transactionalId ? { transactionalId: this.#transactionalId } : undefined;
      const asked = this.#retrying(() => this.http.json<Identity>("POST", "/v1/producers", body));
      this.#identity = asked;
      asked.then(
        (identity) => {
          if (this.#identity === asked) this.#currentIdentity = identity;
        },
        () => {
          if (this.#identity === asked) this.#identity = null;
        },
      );
    }
    return this.#identity;
  }

  /** The topic's partition count and max.message.bytes, cached for metadataMaxAgeMs. */
  #topic(name: string, refresh = false): Promise<TopicInfo> {
    const cached = this.#topics.get(name);
    if (cached && !refresh && Date.now() - cached.at < this.#metadataMaxAgeMs) return cached.info;
    const info = this.#retrying(() =>
      this.http.json<{ partitions: unknown[]; config: Record<string, number> }>("GET", `/v1/topics/${encodeURIComponent(name)}`),
    ).then((d) => ({ partitions: d.partitions.length, maxMessageBytes: d.config["max.message.bytes"] }));
    const entry = { info, at: Date.now() };
    this.#topics.set(name, entry);
    info.catch(() => {
      if (this.#topics.get(name) === entry) this.#topics.delete(name);
    });
    return info;
  }

  #stickyPartition(topic: string, partitions: number): number {
    let partition = this.#sticky.get(topic);
    if (partition === undefined || partition >= partitions) {
      partition = Math.floor(Math.random() * partitions);
      this.#sticky.set(topic, partition);
    }
    return partition;
  }

  /** KIP-480: unkeyed records move to another partition once a batch of their partition is complete. */
  #moveSticky(topic: string, partition: number, partitions: number): void {
    if (this.#sticky.get(topic) !== partition || partitions < 2) return;
    this.#sticky.set(topic, (partition + 1 + Math.floor(Math.random() * (partitions - 1))) % partitions);
  }

  /** Runs `fn` until it succeeds, fails for good, or runs out of attempts (then REQUEST_TIMED_OUT). */
  async #retrying<T>(fn: () => Promise<T>): Promise<T> {
    const { initialMs, maxMs, attempts } = this.#retries;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // fetch rejects with a TypeError when no answer came; EdgelogErrors say themselves.
        const retriable = err instanceof EdgelogError ? err.retriable : err instanceof TypeError;
        if (!retriable) throw err;
        if (attempt >= attempts) throw outcomeUnknown(err, attempt);
        const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
      }
    }
  }

  /** The pieces drain() shares with send(): metadata, placement, limits, encoding and the retried post. */
  #outboxChannel(): OutboxChannel {
    return {
      topic: (name, refresh) => this.#topic(name, refresh),
      partitionOf: (topic, key, partitions) => (key !== null ? partitionForKey(key, partitions) : this.#stickyPartition(topic, partitions)),
      sealed: (topic, partition, partitions) => this.#moveSticky(topic, partition, partitions),
      limits: (info) => ({ records: this.#batchRecords, bytes: Math.min(this.#batchBytes, info.maxMessageBytes) - RECORD_BATCH_OVERHEAD }),
      sizeOf: recordSizeBound,
      // The outbox has its own producer id (no transactionalId: it must not fence this producer).
      newIdentity: () => this.#retrying(() => this.http.json<Identity>("POST", "/v1/producers")),
      encode: (records, identity, baseSequence) => encodeBatch(records, { ...identity, baseSequence, compression: this.#compression }),
      post: async (topic, partition, bytes) => {
        const acks = this.#acks === 0 ? "all" : this.#acks; // an outbox entry leaves only once acknowledged
        return (await this.#retrying(() => this.#post(topic, partition, bytes, acks))).batches[0];
      },
    };
  }
}

/** A 4xx answer: the server applied nothing (the rule of protocol/errors.ts). */
function appliedNothing(err: unknown): boolean {
  return err instanceof EdgelogError && err.status < 500;
}

function outcomeUnknown(err: unknown, attempts: number): EdgelogError {
  if (err instanceof EdgelogError) return err;
  const wrapped = new EdgelogError("REQUEST_TIMED_OUT", `no answer after ${attempts} attempt(s): ${err instanceof Error ? err.message : String(err)}`);
  wrapped.cause = err;
  return wrapped;
}

function check(name: string, value: number, min: number, integer = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new TypeError(`${name} must be ${integer ? "an integer" : "a number"} of at least ${min}, got ${String(value)}`);
  }
  return value;
}

function checkTopic(topic: unknown): void {
  if (typeof topic !== "string" || topic.length === 0) throw new TypeError("topic must be a non-empty string");
}

function refuse(index: number, what: string, code: "INVALID_RECORD" | "INVALID_TIMESTAMP" = "INVALID_RECORD"): never {
  throw new EdgelogError(code, `records[${index}]: ${what}`);
}

/**
 * Validates records and converts them as the JSON API does (worker/produce/json-records.ts), so
 * the JSON fetch API and consumers read them back alike.
 */
function toPlacedRecords(records: ProducerRecord[], now: number): PlacedRecord[] {
  if (!Array.isArray(records) || records.length === 0) throw new EdgelogError("INVALID_REQUEST", "records must be a non-empty array");
  return records.map((r, i) => {
    if (r === null || typeof r !== "object") refuse(i, "must be an object");
    let key: Uint8Array | null = null;
    if (typeof r.key === "string") key = encoder.encode(r.key);
    else if (r.key instanceof Uint8Array) key = r.key;
    else if (r.key !== undefined && r.key !== null) refuse(i, "key must be a string, bytes or null");

    const bytes = r.value instanceof Uint8Array ? r.value : r.value instanceof ArrayBuffer ? new Uint8Array(r.value) : null;
    const headers: RecordHeader[] = [];
    if (r.headers !== undefined) {
      if (r.headers === null || typeof r.headers !== "object" || Array.isArray(r.headers)) refuse(i, "headers must be an object of strings");
      for (const [name, value] of Object.entries(r.headers)) {
        if (value !== null && typeof value !== "string") refuse(i, `header "${name}" must be a string or null`);
        // As the JSON API: whether a value is JSON is the value's to say, not a header's.
        if (bytes === null && name.toLowerCase() === CONTENT_TYPE) continue;
        headers.push({ key: name, value: value === null ? null : encoder.encode(value) });
      }
    }

    let value: Uint8Array | null;
    if (bytes !== null) value = bytes;
    else if (r.value === undefined || r.value === null) value = null;
    else if (typeof r.value === "string") value = encoder.encode(r.value);
    else {
      let text: string | undefined;
      try {
        text = JSON.stringify(r.value);
      } catch (err) {
        refuse(i, `value is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (text === undefined) refuse(i, "value must be a JSON value, a string or bytes");
      value = encoder.encode(text);
      headers.push({ key: CONTENT_TYPE, value: JSON_HEADER_VALUE });
    }

    const timestamp = r.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) refuse(i, "timestamp must be milliseconds since the epoch (a non-negative integer)", "INVALID_TIMESTAMP");
    if (r.partition !== undefined && (!Number.isSafeInteger(r.partition) || r.partition < 0)) refuse(i, "partition must be a non-negative integer");
    const record: RecordInput = { key, value, headers, timestamp };
    return { record, key, partition: r.partition, size: recordSizeBound(record) };
  });
}

/**
 * An upper bound of a record's encoded size: every varint at its widest (length 5, attributes 1,
 * timestampDelta 10, offsetDelta 5, key and value lengths 5 each, header count 5; per header two
 * lengths of 5 and at most 3 UTF-8 bytes per UTF-16 unit of its key).
 */
function recordSizeBound(record: RecordInput): number {
  let size = 36 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const h of record.headers ?? []) size += 10 + 3 * h.key.length + (h.value?.length ?? 0);
  return size;
}
