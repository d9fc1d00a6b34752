/**
 * The wire vocabulary is frozen on purpose: clients in the field branch on these close codes and
 * send these headers, and browsers keep topic-partition keys in IndexedDB. A changed number or
 * string fails here first.
 */
import { describe, expect, it } from "vitest";
import {
  CLIENT_END,
  CLOSE_CODES,
  GROUP_SOCKET_CLOSE,
  HEADERS,
  MEDIA_TYPES,
  PARTITION_SOCKET_CLOSE,
  RECORD_BATCH_MEDIA_TYPE,
  topicPartitionKey,
  tpKey,
} from "../../protocol/wire";
import { GROUP_CLOSE, PUSH_CLOSE } from "../../web-client";

describe("the wire vocabulary (protocol/wire)", () => {
  it("keeps every close code's number, and gives each number one name", () => {
    expect(CLOSE_CODES).toEqual({
      topicDeleted: 4004,
      leaderMoved: 4006,
      tooFarBehind: 4008,
      replaced: 4009,
      offsetOutOfRange: 4016,
      unknownMember: 4025,
      accessRevoked: 4031,
      fenced: 4082,
    });
    const numbers = Object.values(CLOSE_CODES);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(CLIENT_END).toEqual({ unreachable: 4999, handlerFailed: 1011 });
    expect(numbers).not.toContain(CLIENT_END.unreachable);
  });

  it("splits the codes between the partition socket and the group socket, and the clients use the same names", () => {
    expect(PARTITION_SOCKET_CLOSE).toEqual({
      topicDeleted: 4004,
      leaderMoved: 4006,
      tooFarBehind: 4008,
      offsetOutOfRange: 4016,
      accessRevoked: 4031,
    });
    expect(GROUP_SOCKET_CLOSE).toEqual({ replaced: 4009, unknownMember: 4025, fenced: 4082, accessRevoked: 4031 });
    expect(PUSH_CLOSE).toEqual({ ...PARTITION_SOCKET_CLOSE, unreachable: 4999, handlerFailed: 1011 });
    expect(GROUP_CLOSE).toEqual({ ...GROUP_SOCKET_CLOSE, unreachable: 4999, handlerFailed: 1011 });
  });

  it("keeps the media types and header names", () => {
    expect(MEDIA_TYPES).toEqual({ recordBatch: "application/vnd.kafka.record-batch.v2", json: "application/json" });
    expect(RECORD_BATCH_MEDIA_TYPE).toBe("application/vnd.kafka.record-batch.v2");
    expect(HEADERS).toEqual({
      highWatermark: "edgelog-high-watermark",
      logStartOffset: "edgelog-log-start-offset",
      nextOffset: "edgelog-next-offset",
      replica: "edgelog-replica",
      lastStableOffset: "edgelog-last-stable-offset",
      abortedTransactions: "edgelog-aborted-transactions",
      transactionalId: "edgelog-transactional-id",
      producerId: "edgelog-producer-id",
      producerEpoch: "edgelog-producer-epoch",
      idempotencyKey: "idempotency-key",
      authorization: "authorization",
      contentType: "content-type",
    });
    // Lower-case, as fetch's Headers and Node's IncomingMessage.headers spell them.
    for (const name of Object.values(HEADERS)) expect(name).toBe(name.toLowerCase());
  });

  it("builds the topic-partition key exactly as stored keys were built: topic, NUL, partition", () => {
    expect(topicPartitionKey("orders", 3)).toBe("orders\u00003");
    expect(topicPartitionKey("a.b-c_d", 0)).toBe("a.b-c_d\u00000");
    expect(tpKey({ topic: "orders", partition: 12 })).toBe("orders\u000012");
    // The template every file used before the helper existed.
    const before = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    for (const [topic, partition] of [
      ["t", 0],
      ["sensors", 7],
      ["x".repeat(249), 65_535],
    ] as const) {
      expect(topicPartitionKey(topic, partition)).toBe(before(topic, partition));
    }
    // Distinct partitions, distinct keys (a topic name never holds NUL).
    expect(topicPartitionKey("t1", 0)).not.toBe(topicPartitionKey("t", 10));
  });
});
