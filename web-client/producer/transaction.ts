/**
 * The transactional producer's state machine (KIP-98), as Kafka's TransactionManager:
 *
 *   ready --begin--> beginning --> open --commit--> committing --> ready
 *                                       --abort---> aborting  --> ready
 *
 * Transactions start with init() (Kafka's initTransactions; the first begin() calls it): from
 * then on the producer sends only inside a transaction. Before it, a producer with a
 * transactionalId sends as an idempotent one, with that id's epoch (which fences older
 * instances) and no transaction.
 *
 * While open, each partition is added to the transaction (POST /v1/transactions/{id}/partitions)
 * before its first batch is sent, and sendOffsets adds a group's offsets. commit and abort first
 * flush every record sent, then end the transaction on the server; a transaction that added
 * nothing ends without a request.
 *
 * Errors:
 *   - INVALID_TXN_STATE (an EdgelogError, thrown here, not by the server) for a call the state
 *     does not allow: send() outside a transaction, begin twice, commit or abort with none open.
 *   - A send of the transaction that failed makes it abortable, as in Kafka: later sends reject
 *     with that failure and commit rejects with INVALID_TXN_STATE (its `cause` the failure); the
 *     app must abort.
 *   - PRODUCER_FENCED or INVALID_PRODUCER_EPOCH from any call fences the producer: it and every
 *     later call reject with that error. Only a new Producer (a new epoch) can go on.
 *   - Retriable failures (CONCURRENT_TRANSACTIONS, no answer) are retried (retry.ts); a commit or
 *     abort that still failed leaves the transaction open, to be committed or aborted again (the
 *     server answers a retried commit as the first).
 */
import { EdgelogError } from "../../protocol/errors";
import { topicPartitionKey } from "../../protocol/wire";
import type { TopicPartition } from "../group-subscription";
import type { HttpTransport } from "../http";
import type { Identity } from "./identity";
import { retrying, type RetryOptions } from "./retry";

/** An offset sendOffsets commits for a group: the next offset to consume, as Kafka's. */
export interface TransactionOffset extends TopicPartition {
  offset: number;
  metadata?: string | null;
}

export type TransactionState = "ready" | "beginning" | "open" | "committing" | "aborting";

/** What the transaction needs of its producer. */
export interface TransactionParts {
  http: HttpTransport;
  retries: RetryOptions;
  transactionalId: string;
  /** The producer id and epoch (the first call asks POST /v1/producers, fencing older instances). */
  identity(): Promise<Identity>;
  /** The error that fenced the producer, if one did. */
  fenced(): EdgelogError | null;
  fence(err: EdgelogError): void;
  /** Switches the producer to transactional batches, once what it sent before is acknowledged. */
  activate(): Promise<void>;
}

const FENCING = new Set(["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"]);

export class Transaction {
  #parts: TransactionParts;
  #state: TransactionState = "ready";
  /** The partitions added to the open transaction. */
  #partitions = new Set<string>();
  /** Whether the server knows of the open transaction (a partition or offsets were added). */
  #started = false;
  #abortable: unknown = null;
  #activation: Promise<void> | null = null;

  constructor(parts: TransactionParts) {
    this.#parts = parts;
  }

  get state(): TransactionState {
    return this.#state;
  }

  /** Whether the producer uses transactions (init() was called): sends need an open transaction. */
  get active(): boolean {
    return this.#activation !== null;
  }

  /**
   * Gets the producer id and epoch now (Kafka's initTransactions): older instances are fenced.
   * From now on the producer sends only inside a transaction.
   */
  async init(): Promise<void> {
    this.#checkFenced();
    this.#activation ??= this.#parts.activate();
    await this.#activation;
    await this.#fencing(() => this.#parts.identity());
  }

  /** Opens a transaction; INVALID_TXN_STATE when one is open. */
  async begin(): Promise<void> {
    this.#checkFenced();
    if (this.#state !== "ready") throw invalidState(`a transaction is already ${this.#state}`);
    this.#state = "beginning"; // sends wait for begin() to resolve (the first one flushes what came before)
    this.#partitions.clear();
    this.#started = false;
    this.#abortable = null;
    try {
      await this.init();
    } catch (err) {
      this.#state = "ready";
      throw err;
    }
    this.#state = "open";
  }

  /** Throws unless a send() may join the transaction now. */
  checkSend(): void {
    this.#checkFenced();
    if (this.#state === "ready") throw invalidState("send() outside a transaction: call beginTransaction() first");
    if (this.#state !== "open") throw invalidState(`the transaction is ${this.#state}`);
    if (this.#abortable !== null) throw this.#abortable;
  }

  /** A send of the transaction failed: it can only be aborted now. */
  failed(err: unknown): void {
    if (err instanceof EdgelogError && FENCING.has(err.code)) this.#parts.fence(err);
    if (this.#state !== "ready") this.#abortable ??= err;
  }

  /** Adds the partitions not in the transaction yet, in one request, before their records are batched. */
  async add(tps: TopicPartition[]): Promise<void> {
    const added = new Map<string, TopicPartition>();
    for (const tp of tps) {
      const key = topicPartitionKey(tp.topic, tp.partition);
      if (!this.#partitions.has(key)) added.set(key, { topic: tp.topic, partition: tp.partition });
    }
    if (added.size === 0) return;
    await this.#post("partitions", { partitions: [...added.values()] });
    this.#started = true;
    for (const key of added.keys()) this.#partitions.add(key);
  }

  /** Adds a group's offsets, committed only if the transaction commits. */
  async sendOffsets(groupId: string, offsets: TransactionOffset[]): Promise<void> {
    this.checkSend();
    if (offsets.length === 0) return;
    await this.#post("offsets", { groupId, offsets });
    this.#started = true;
  }

  /** Flushes, then commits; rejects when a send of the transaction failed (abort it). */
  async commit(flush: () => Promise<void>): Promise<void> {
    await this.#end("commit", flush);
  }

  /** Flushes, then aborts: no read_committed reader sees the transaction's records. */
  async abort(flush: () => Promise<void>): Promise<void> {
    await this.#end("abort", flush);
  }

  async #end(outcome: "commit" | "abort", flush: () => Promise<void>): Promise<void> {
    this.#checkFenced();
    if (this.#state !== "open") throw invalidState(`no transaction to ${outcome}: it is ${this.#state}`);
    this.#state = outcome === "commit" ? "committing" : "aborting";
    try {
      await flush();
      this.#checkFenced();
      if (outcome === "commit" && this.#abortable !== null) throw abortNeeded(this.#abortable);
      if (this.#started) await this.#post(outcome, {});
    } catch (err) {
      this.#state = "open";
      throw err;
    }
    this.#state = "ready";
  }

  async #post(what: "partitions" | "offsets" | "commit" | "abort", body: object): Promise<void> {
    const { http, retries, transactionalId } = this.#parts;
    try {
      const { producerId, producerEpoch } = await this.#parts.identity();
      const path = `/v1/transactions/${encodeURIComponent(transactionalId)}/${what}`;
      await this.#fencing(() => retrying(retries, () => http.json("POST", path, { producerId, producerEpoch, ...body })));
    } catch (err) {
      if (what === "partitions") this.failed(err);
      throw err;
    }
  }

  /** Runs a call; a fencing error it fails with fences the producer. */
  async #fencing<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof EdgelogError && FENCING.has(err.code)) {
        this.#parts.fence(err);
        throw this.#parts.fenced() ?? err;
      }
      throw err;
    }
  }

  #checkFenced(): void {
    const fenced = this.#parts.fenced();
    if (fenced) throw fenced;
  }
}

function invalidState(message: string): EdgelogError {
  return new EdgelogError("INVALID_TXN_STATE", message);
}

function abortNeeded(cause: unknown): EdgelogError {
  const err = invalidState(
    `a send of this transaction failed, so it cannot commit: abort it (${cause instanceof Error ? cause.message : String(cause)})`,
  );
  err.cause = cause;
  return err;
}
