/**
 * Transactions (declared in protocol/api/transactions.ts): each route asks the transactional
 * id's coordinator (worker/txn/coordinator-do.ts), which checks the producer's epoch first.
 * Adding partitions needs Write on the transactional id and on each topic; adding offsets, Write
 * on the id and Read on the group, as Kafka's AddPartitionsToTxn and TxnOffsetCommit do.
 */
import { transactions as api } from "../../../protocol/api";
import { topicMetadata } from "../../cluster/metadata";
import { unwrap } from "../../outcome";
import { txnCoordinator } from "../../txn/stub";
import { group as onGroup, topic as onTopic, transactionalId as onTransactionalId } from "../http/auth";
import { type App, serve } from "../http/serve";
import { EdgelogError } from "../../../protocol/errors";

export function transactions(app: App): void {
  serve(
    app,
    api.addPartitions,
    {
      needs: ({ params, body }) => [
        onTransactionalId(params.transactionalId, "Write"),
        ...[...new Set(body.partitions.map((p) => p.topic))].map((t) => onTopic(t, "Write")),
      ],
    },
    async (c, { params: { transactionalId }, body }) => {
      // Every partition must exist before the transaction names it: a marker must land on it.
      for (const { topic, partition } of body.partitions) {
        const metadata = await topicMetadata(c.env, topic);
        if (partition >= metadata.partitions.length) {
          throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has no partition ${partition}`);
        }
      }
      const coordinator = txnCoordinator(c.env, transactionalId);
      return c.json(unwrap(await coordinator.addPartitions(transactionalId, body.producerId, body.producerEpoch, body.partitions)));
    },
  );

  serve(
    app,
    api.addOffsets,
    { needs: ({ params, body }) => [onTransactionalId(params.transactionalId, "Write"), onGroup(body.groupId, "Read")] },
    async (c, { params: { transactionalId }, body }) => {
      const offsets = body.offsets.map((o) => ({ ...o, metadata: o.metadata ?? null }));
      const coordinator = txnCoordinator(c.env, transactionalId);
      return c.json(unwrap(await coordinator.addOffsets(transactionalId, body.producerId, body.producerEpoch, body.groupId, offsets)));
    },
  );

  for (const [route, commit] of [
    [api.commitTransaction, true],
    [api.abortTransaction, false],
  ] as const) {
    serve(
      app,
      route,
      { needs: ({ params }) => [onTransactionalId(params.transactionalId, "Write")] },
      async (c, { params: { transactionalId }, body }) => {
        const coordinator = txnCoordinator(c.env, transactionalId);
        return c.json(unwrap(await coordinator.end(transactionalId, body.producerId, body.producerEpoch, commit)));
      },
    );
  }
}
