/**
 * The producer's side of the outbox: the pieces drain() shares with send() (metadata, placement,
 * limits, encoding and the retried post), as the OutboxChannel that drainOutbox runs on.
 */
import { encodeBatch } from "../../protocol/record-batch";
import type { HttpTransport } from "../http";
import type { OutboxChannel } from "../outbox";
import { batchRoom } from "./batching";
import { requestIdentity } from "./identity";
import type { TopicMetadata } from "./metadata";
import type { ProducerSettings } from "./options";
import type { Partitioner } from "./partitioner";
import { recordSizeBound } from "./records";
import type { Sender } from "./sender";

export interface ProducerParts {
  http: HttpTransport;
  settings: ProducerSettings;
  metadata: TopicMetadata;
  partitioner: Partitioner;
  sender: Sender;
}

export function outboxChannel({ http, settings, metadata, partitioner, sender }: ProducerParts): OutboxChannel {
  return {
    topic: (name, refresh) => metadata.get(name, refresh),
    partitionOf: (topic, key, partitions) => partitioner.partitionOf(topic, key, partitions),
    sealed: (topic, partition, partitions) => partitioner.sealed(topic, partition, partitions),
    limits: (info) => ({ records: settings.batchRecords, bytes: batchRoom(settings.batchBytes, info) }),
    sizeOf: recordSizeBound,
    // The outbox has its own producer id (no transactionalId: it must not fence this producer).
    newIdentity: () => requestIdentity(http, settings.retries),
    encode: (records, identity, baseSequence) => encodeBatch(records, { ...identity, baseSequence, compression: settings.compression }),
    post: async (topic, partition, bytes) => {
      const acks = settings.acks === 0 ? "all" : settings.acks; // an outbox entry leaves only once acknowledged
      return (await sender.post(topic, partition, bytes, acks)).batches[0];
    },
  };
}
