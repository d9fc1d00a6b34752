/**
 * The transaction coordinator: one Durable Object per transactional id (named by it), Kafka's
 * TransactionCoordinator for that id. It issues the id's producer epochs (fencing older
 * instances), records the partitions and offsets of the ongoing transaction, and ends it by
 * writing a COMMIT or ABORT marker to every partition in it, then committing its offsets.
 *
 * Durability: the state (transaction.ts) is one SQLite row, written before every step it
 * decides. A commit or abort is first stored as PrepareCommit / PrepareAbort, with the alarm set;
 * only then are markers written. Whatever stops it (a kill -9, an eviction), the alarm finishes
 * a prepared transaction with the same outcome: every partition ends with the marker, or the
 * markers are still being written, never some COMMIT and some ABORT. Each partition marked is
 * crossed off the stored state; a marker written twice (a crash between the write and that)
 * changes nothing for readers: the transaction had already ended there.
 *
 * The alarm also aborts a transaction left Ongoing past transaction.timeout.ms, with the epoch
 * bumped, so the abandoned producer is fenced everywhere its markers land.
 *
 * Requests are served one at a time (a promise chain), so two ends of one transaction never
 * interleave.
 */
import { DurableObject } from "cloudflare:workers";
import { EdgelogError } from "../../protocol/errors";
import { controller, topicMetadata } from "../cluster/metadata";
import { writeMarkerTo } from "../cluster/partition-client";
import type { Env } from "../env";
import { attemptAsync, unwrap, type Outcome } from "../outcome";
import {
  add,
  checkProduce,
  checkProducer,
  endAction,
  MAX_PRODUCER_EPOCH,
  type TopicPartition,
  type Transaction,
  type TxnOffset,
  type TxnState,
} from "./transaction";

/** How soon a prepared transaction is finished again after writing its markers failed. */
const RETRY_MS = 1_000;

export class TransactionCoordinator extends DurableObject<Env> {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS txn (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL)");
  }

  /** Runs `fn` after every request before it (one at a time). */
  #serially<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
    const run = this.#queue.then(() => attemptAsync(fn));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #load(): Transaction | null {
    const row = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM txn WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.value) as Transaction) : null;
  }

  #store(txn: Transaction): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO txn (id, value) VALUES (1, ?)", JSON.stringify(txn));
  }

  #current(transactionalId: string): Transaction {
    const txn = this.#load();
    if (!txn || txn.transactionalId !== transactionalId) {
      throw new EdgelogError(
        "INVALID_PRODUCER_ID_MAPPING",
        `transactional id "${transactionalId}" has no producer: POST /v1/producers {"transactionalId"} first`,
      );
    }
    return txn;
  }

  /**
   * Kafka's InitProducerId for a transactional id: bumps the epoch (fencing every older
   * instance), after finishing a prepared transaction or aborting an ongoing one.
   */
  init(transactionalId: string, timeoutMs: number): Promise<Outcome<{ producerId: number; producerEpoch: number }>> {
    return this.#serially(async () => {
      let txn = this.#load();
      if (!txn) {
        // The first producer of this id: its id (and any epoch issued before coordinators existed) from the controller.
        const issued = unwrap(await controller(this.env).initProducerId(transactionalId));
        txn = { transactionalId, ...issued, state: "Empty", partitions: [], offsets: [], timeoutMs, startedAt: 0 };
        this.#store(txn);
        return { producerId: txn.producerId, producerEpoch: txn.producerEpoch };
      }
      let next: Transaction;
      if (txn.state === "Ongoing") {
        // Aborted under the next epoch: its markers fence the old instance on every partition it wrote.
        next = { ...(await this.#end(await this.#bumped(txn), false)), timeoutMs };
      } else {
        if (txn.state === "PrepareCommit" || txn.state === "PrepareAbort") txn = await this.#end(txn, txn.state === "PrepareCommit");
        next = await this.#bumped({ ...txn, timeoutMs });
      }
      this.#store(next);
      return { producerId: next.producerId, producerEpoch: next.producerEpoch };
    });
  }

  /** The next epoch (a new producer id once epochs run out, as Kafka does). */
  async #bumped(txn: Transaction): Promise<Transaction> {
    if (txn.producerEpoch < MAX_PRODUCER_EPOCH) return { ...txn, producerEpoch: txn.producerEpoch + 1 };
    const fresh = unwrap(await controller(this.env).initProducerId(undefined));
    return { ...txn, ...fresh };
  }

  addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: TopicPartition[],
  ): Promise<Outcome<{ state: TxnState; partitions: TopicPartition[] }>> {
    return this.#serially(async () => {
      const txn = this.#current(transactionalId);
      checkProducer(txn, producerId, producerEpoch);
      const next = add(txn, Date.now(), partitions);
      await this.#begin(txn, next);
      return { state: next.state, partitions: next.partitions };
    });
  }

  addOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
    offsets: TxnOffset[],
  ): Promise<Outcome<{ state: TxnState }>> {
    return this.#serially(async () => {
      const txn = this.#current(transactionalId);
      checkProducer(txn, producerId, producerEpoch);
      const next = add(txn, Date.now(), [], { groupId, offsets });
      await this.#begin(txn, next);
      return { state: next.state };
    });
  }

  async #begin(before: Transaction, next: Transaction): Promise<void> {
    this.#store(next);
    if (before.state !== "Ongoing") await this.ctx.storage.setAlarm(next.startedAt + next.timeoutMs);
  }

  /** Whether a producer may write to a partition now (the worker asks before a transactional produce). */
  verify(transactionalId: string, producerId: number, producerEpoch: number, tp: TopicPartition): Promise<Outcome<null>> {
    return this.#serially(async () => {
      const txn = this.#current(transactionalId);
      checkProducer(txn, producerId, producerEpoch);
      checkProduce(txn, tp);
      return null;
    });
  }

  /** Commits or aborts the ongoing transaction (EndTxn); a retry of a finished one answers the same. */
  end(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<Outcome<{ state: TxnState }>> {
    return this.#serially(async () => {
      const txn = this.#current(transactionalId);
      checkProducer(txn, producerId, producerEpoch);
      if (endAction(txn, commit) === "done") return { state: txn.state };
      return { state: (await this.#end(txn, commit)).state };
    });
  }

  /** The stored state (tests and the console). */
  describe(): Promise<Outcome<Transaction | null>> {
    return this.#serially(async () => this.#load());
  }

  /** Prepares (stores the decision, arms the alarm), writes every marker, commits offsets, completes. */
  async #end(txn: Transaction, commit: boolean): Promise<Transaction> {
    const prepared: Transaction = { ...txn, state: commit ? "PrepareCommit" : "PrepareAbort" };
    this.#store(prepared);
    await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    // Each partition marked is crossed off in the stored state, so finishing again after a crash
    // writes only the markers still missing.
    let remaining = prepared.partitions;
    await Promise.all(
      prepared.partitions.map(async ({ topic, partition }) => {
        let metadata: Awaited<ReturnType<typeof topicMetadata>>;
        try {
          metadata = await topicMetadata(this.env, topic);
        } catch (err) {
          // A topic deleted meanwhile has no partition to mark.
          if (err instanceof EdgelogError && err.code === "UNKNOWN_TOPIC_OR_PARTITION") return;
          throw err;
        }
        await writeMarkerTo(this.env, metadata, partition, {
          producerId: prepared.producerId,
          producerEpoch: prepared.producerEpoch,
          commit,
          coordinatorEpoch: 0,
        });
        remaining = remaining.filter((tp) => tp.topic !== topic || tp.partition !== partition);
        this.#store({ ...prepared, partitions: remaining });
      }),
    );
    if (commit) {
      for (const { groupId, offsets } of prepared.offsets)
        unwrap(await this.env.GROUP.get(this.env.GROUP.idFromName(groupId)).commitTransactional(groupId, offsets));
    }
    const complete: Transaction = { ...prepared, state: commit ? "CompleteCommit" : "CompleteAbort", partitions: [], offsets: [] };
    this.#store(complete);
    await this.ctx.storage.deleteAlarm();
    return complete;
  }

  /** Finishes a prepared transaction, or aborts one past its timeout (fencing its producer). */
  override async alarm(): Promise<void> {
    const outcome = await this.#serially(async () => {
      const txn = this.#load();
      if (!txn) return;
      if (txn.state === "PrepareCommit" || txn.state === "PrepareAbort") {
        await this.#end(txn, txn.state === "PrepareCommit");
      } else if (txn.state === "Ongoing") {
        if (Date.now() < txn.startedAt + txn.timeoutMs) await this.ctx.storage.setAlarm(txn.startedAt + txn.timeoutMs);
        else await this.#end(await this.#bumped(txn), false);
      }
    });
    if (!outcome.ok) console.warn(`edgelog: finishing a transaction failed (${outcome.code}); retrying`);
  }
}
