/**
 * The Producer: send() validates and places records (partitioner.ts) and hands them to batching
 * (batching.ts), whose sealed batches the sender sends idempotently (sender.ts). Offline,
 * enqueue() appends records to an IndexedDB outbox and drain() sends them once and in order
 * (../outbox). In a browser, drain() also runs on each "online" event.
 *
 * With a transactionalId, once initTransactions() or beginTransaction() was called, records are
 * sent only inside a transaction (transaction.ts): beginTransaction(), send() and sendOffsets(),
 * then commitTransaction() or abortTransaction(); send() outside one rejects with
 * INVALID_TXN_STATE. Before that first call it sends as an idempotent producer whose epoch
 * fences older instances of the transactionalId, without transactions.
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
import { Transaction, type TransactionOffset } from "./transaction";

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
  #txn: Transaction | undefined;

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
    const { transactionalId } = settings;
    if (transactionalId !== undefined) {
      const sender = this.#sender;
      this.#txn = new Transaction({
        http: this.http,
        retries: settings.retries,
        transactionalId,
        identity: () => sender.identity(),
        fenced: () => sender.fenced,
        fence: (err) => sender.fence(err),
        activate: async () => {
          await this.flush(); // what was sent before transactions goes out as it was
          sender.transactional = true;
        },
      });
    }
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
    const txn = this.#txn?.active ? this.#txn : undefined;
    txn?.checkSend();
    checkTopic(topic);
    const inputs = toPlacedRecords(records, Date.now());
    const placing = this.#intake.then(() => this.#place(topic, inputs, txn));
    this.#intake = placing.then(noop, noop);
    const acknowledged = placing.then((each) => Promise.all(each));
    // A failed send of a transaction makes it abortable (transaction.ts), before flush() returns.
    const settled = acknowledged.then(noop, (err) => txn?.failed(err));
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

  /**
   * Gets the producer id and epoch of the transactionalId now, fencing older instances (whose
   * open transaction the server aborts), as Kafka's initTransactions; from then on send() needs
   * an open transaction. Optional: the first beginTransaction() does it otherwise.
   *
   * @example
   * const producer = new Producer({ url, transactionalId: "payments-1" });
   * await producer.initTransactions();
   */
  async initTransactions(): Promise<void> {
    this.#checkOpen();
    await this.#requireTxn().init();
  }

  /**
   * Opens a transaction: the records sent until commitTransaction() or abortTransaction() are
   * part of it. Rejects with INVALID_TXN_STATE when one is open already, with TypeError without
   * a transactionalId.
   *
   * @example
   * await producer.beginTransaction();
   * await producer.send("debits", [{ key: "acct-1", value: { amount: 5 } }]);
   * await producer.send("credits", [{ key: "acct-2", value: { amount: 5 } }]);
   * await producer.commitTransaction();
   */
  async beginTransaction(): Promise<void> {
    this.#checkOpen();
    await this.#requireTxn().begin();
  }

  /**
   * Adds a consumer group's offsets to the transaction (Kafka's sendOffsetsToTransaction): the
   * group commits them only if the transaction commits. Each offset is the next one to consume.
   *
   * @example
   * await producer.sendOffsets("enricher", [{ topic: "raw", partition: 0, offset: last + 1 }]);
   */
  async sendOffsets(groupId: string, offsets: TransactionOffset[]): Promise<void> {
    this.#checkOpen();
    const txn = this.#requireTxn();
    if (typeof groupId !== "string" || groupId.length === 0) throw new TypeError("groupId must be a non-empty string");
    await txn.sendOffsets(groupId, offsets);
  }

  /**
   * Flushes every record sent, then commits the transaction: read_committed readers see all of
   * its records, and its offsets are committed. Rejects with INVALID_TXN_STATE when a send of the
   * transaction failed (abort it then), with PRODUCER_FENCED once a newer instance exists.
   */
  async commitTransaction(): Promise<void> {
    this.#checkOpen();
    await this.#requireTxn().commit(() => this.flush());
  }

  /** Flushes every record sent, then aborts the transaction: read_committed readers never see its records. */
  async abortTransaction(): Promise<void> {
    this.#checkOpen();
    await this.#requireTxn().abort(() => this.flush());
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

  #requireTxn(): Transaction {
    if (!this.#txn) throw new TypeError("transactions need a transactionalId: new Producer({ url, transactionalId })");
    return this.#txn;
  }

  #requireOutbox(): Outbox {
    if (!this.#outbox) throw new TypeError("this producer has no outbox: pass { outbox: await Outbox.open() }");
    return this.#outbox;
  }

  /** Picks each record's partition and adds it to its partition's batch; one promise per record. */
  async #place(topic: string, records: PlacedRecord[], txn: Transaction | undefined): Promise<Promise<RecordMetadata>[]> {
    if (this.#sender.fenced) throw this.#sender.fenced;
    let info = await this.#metadata.get(topic);
    let highest = -1;
    for (const r of records) if (r.partition !== undefined && r.partition > highest) highest = r.partition;
    if (highest >= info.partitions) info = await this.#metadata.get(topic, true); // it may have grown
    if (highest >= info.partitions) {
      throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has no partition ${highest} (it has ${info.partitions})`);
    }
    const append = (r: PlacedRecord, partition: number) =>
      this.#batches.append(topic, partition, info, r).then((offset) => ({ topic, partition, offset }));
    if (!txn) return records.map((r) => append(r, r.partition ?? this.#partitioner.partitionOf(topic, r.key, info.partitions)));
    // In a transaction, the new partitions are added to it before any of their records is batched.
    const partitions = records.map((r) => r.partition ?? this.#partitioner.partitionOf(topic, r.key, info.partitions));
    await txn.add([...new Set(partitions)].map((partition) => ({ topic, partition })));
    return records.map((r, i) => append(r, partitions[i]));
  }
}
