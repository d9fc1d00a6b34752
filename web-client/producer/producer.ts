/**
 * The Producer: send() validates and places records (partitioner.ts) and hands them to batching
 * (batching.ts), whose sealed batches the sender sends idempotently (sender.ts). Offline,
 * enqueue() appends records to an IndexedDB outbox and drain() sends them once and in order
 * (../outbox). In a browser, drain() also runs on each "online" event.
 */
import { EdgelogError } from "../../protocol/errors";
import { HttpTransport } from "../http";
import { drainOutbox, toStoredRecord, type DrainResult, type Outbox, type OutboxChannel } from "../outbox";
import { Accumulator } from "./batching";
import { TopicMetadata } from "./metadata";
import { producerSettings, type ProducerOptions } from "./options";
import { outboxChannel } from "./outbox-channel";
import { Partitioner } from "./partitioner";
import { checkTopic, toPlacedRecords, type PlacedRecord, type ProducerRecord } from "./records";
import { Sender } from "./sender";

/** Where a record was stored. `offset` is null with acks=0. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number | null;
}

const noop = () => {};

export class Producer {
  readonly http: HttpTransport;
  #metadata: TopicMetadata;
  #partitioner = new Partitioner();
  #sender: Sender;
  #batches: Accumulator;
  #outbox: Outbox | undefined;
  /** Places send() calls one after another, so records of one partition keep the calls' order. */
  #intake: Promise<void> = Promise.resolve();
  #unsettled = new Set<Promise<void>>();
  #closing: Promise<void> | null = null;
  #drains = new Set<Promise<unknown>>();
  #onOnline: (() => void) | null = null;
  #channel: OutboxChannel;

  constructor(options: ProducerOptions) {
    this.http = new HttpTransport(options);
    const settings = producerSettings(options);
    this.#metadata = new TopicMetadata(this.http, settings.retries, settings.metadataMaxAgeMs);
    this.#sender = new Sender(this.http, settings, this.#metadata);
    this.#batches = new Accumulator(settings, {
      sealed: (topic, partition, partitions) => this.#partitioner.sealed(topic, partition, partitions),
      deliver: (topic, partition, batch) => this.#sender.deliver(topic, partition, batch),
    });
    this.#outbox = options.outbox;
    this.#channel = outboxChannel({
      http: this.http,
      settings,
      metadata: this.#metadata,
      partitioner: this.#partitioner,
      sender: this.#sender,
    });
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
    this.#batches.sealAll();
    await Promise.all(pending);
  }

  /** Flushes, waits for drains in progress, and stops: later calls reject. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#onOnline)
        (globalThis as unknown as { removeEventListener(type: string, l: () => void): void }).removeEventListener("online", this.#onOnline);
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
    return outbox.append(
      topic,
      inputs.map((r) => toStoredRecord(r.record, r.partition)),
    );
  }

  /**
   * Sends the outbox, oldest first, with the outbox's own persisted producer id, and removes
   * entries only once acknowledged (see ../outbox/drain.ts). Rejects when the server cannot be
   * reached; what was not acknowledged stays for the next drain.
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
    if (this.#sender.fenced) throw this.#sender.fenced;
  }

  #requireOutbox(): Outbox {
    if (!this.#outbox) throw new TypeError("this producer has no outbox: pass { outbox: await Outbox.open() }");
    return this.#outbox;
  }

  /** Picks each record's partition and adds it to its partition's batch; one promise per record. */
  async #place(topic: string, records: PlacedRecord[]): Promise<Promise<RecordMetadata>[]> {
    if (this.#sender.fenced) throw this.#sender.fenced;
    let info = await this.#metadata.get(topic);
    let highest = -1;
    for (const r of records) if (r.partition !== undefined && r.partition > highest) highest = r.partition;
    if (highest >= info.partitions) info = await this.#metadata.get(topic, true); // it may have grown
    if (highest >= info.partitions) {
      throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has no partition ${highest} (it has ${info.partitions})`);
    }
    return records.map((r) => {
      const partition = r.partition ?? this.#partitioner.partitionOf(topic, r.key, info.partitions);
      return this.#batches.append(topic, partition, info, r).then((offset) => ({ topic, partition, offset }));
    });
  }
}
