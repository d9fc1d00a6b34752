/**
 * Produce inside a transaction: the batches carry the transactional attribute and the
 * producer's id and epoch, and the request names its transactional id (the
 * Edgelog-Transactional-Id header; JSON produce gives the producer in Edgelog-Producer-Id and
 * Edgelog-Producer-Epoch too). Before anything is appended, the id's coordinator confirms that
 * this producer is its current instance and that the partition is in its ongoing transaction:
 * a zombie's write is PRODUCER_FENCED, a partition not added is INVALID_TXN_STATE.
 */
import { EdgelogError } from "../../../protocol/errors";
import type { BatchHeader } from "../../../protocol/record-batch";
import { HEADERS } from "../../../protocol/wire";
import type { Need } from "../../access/authorizer";
import type { Env } from "../../env";
import { unwrap } from "../../outcome";
import { txnCoordinator } from "../../txn/stub";
import type { TopicPartition } from "../../txn/transaction";
import { transactionalId } from "../http/auth";

/** The JSON produce's transactional producer, from its headers (all three, or none). */
export interface JsonTransaction {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

/** Writing in a transaction needs Write on its transactional id too. */
export function transactionalNeed(id: string | undefined): Need[] {
  return id === undefined ? [] : [transactionalId(id, "Write")];
}

/** The JSON produce's transaction, or undefined; INVALID_REQUEST when the headers are not all there. */
export function jsonTransaction(headers: Record<string, unknown>): JsonTransaction | undefined {
  const id = headers[HEADERS.transactionalId] as string | undefined;
  const producerId = headers[HEADERS.producerId] as number | undefined;
  const producerEpoch = headers[HEADERS.producerEpoch] as number | undefined;
  if (id === undefined && producerId === undefined && producerEpoch === undefined) return undefined;
  if (id === undefined || producerId === undefined || producerEpoch === undefined) {
    throw new EdgelogError(
      "INVALID_REQUEST",
      `transactional JSON produce needs all of ${HEADERS.transactionalId}, ${HEADERS.producerId} and ${HEADERS.producerEpoch}`,
    );
  }
  return { transactionalId: id, producerId, producerEpoch };
}

/** Checks the transactional batches of a binary produce with their coordinator (see the file comment). */
export async function verifyTransactional(env: Env, id: string | undefined, tp: TopicPartition, headers: BatchHeader[]): Promise<void> {
  const producers = new Map<string, { producerId: number; producerEpoch: number }>();
  for (const h of headers) if (h.isTransactional) producers.set(`${h.producerId}/${h.producerEpoch}`, h);
  if (producers.size === 0) return;
  if (id === undefined) {
    throw new EdgelogError(
      "INVALID_REQUEST",
      `transactional batches need the ${HEADERS.transactionalId} header naming their transactional id`,
    );
  }
  for (const { producerId, producerEpoch } of producers.values()) {
    unwrap(await txnCoordinator(env, id).verify(id, producerId, producerEpoch, tp));
  }
}

/** Checks a JSON produce's transaction for each partition it writes. */
export async function verifyJsonTransaction(env: Env, txn: JsonTransaction, tps: TopicPartition[]): Promise<void> {
  const coordinator = txnCoordinator(env, txn.transactionalId);
  for (const tp of tps) unwrap(await coordinator.verify(txn.transactionalId, txn.producerId, txn.producerEpoch, tp));
}
