/**
 * kafkajs 2.2.4 as the reference implementation: its own RecordBatch encoder and decoder, used
 * only by tests to prove edgelog's codec is byte-compatible with a real Kafka client.
 */

import decodeRecordBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import Decoder from "kafkajs/src/protocol/decoder.js";
import Record from "kafkajs/src/protocol/recordBatch/record/v0/index.js";
import v0 from "kafkajs/src/protocol/recordBatch/v0/index.js";
import type { RecordHeader } from "../../protocol/record-batch";
import { asBuffer, toBuffer } from "./node";

export interface TestRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  timestamp: number;
}

export interface TestBatchFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  compression: "none" | "gzip";
  isTransactional: boolean;
}

/** What both decoders must agree on. */
export interface NormalizedBatch {
  baseOffset: number;
  partitionLeaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  lastOffsetDelta: number;
  records: { offset: number; timestamp: number; key: Uint8Array | null; value: Uint8Array | null; headers: RecordHeader[] }[];
}

/**
 * kafkajs groups headers by key in an object, so a header list only survives its encoder when
 * equal keys are adjacent and values are not null; test inputs for kafkajs respect that.
 */
function headersObject(headers: RecordHeader[]): Record<string, Uint8Array | Uint8Array[]> {
  const grouped: Record<string, Uint8Array[]> = {};
  for (const { key, value } of headers) {
    if (value === null) throw new Error("kafkajs cannot encode a null header value");
    (grouped[key] ??= []).push(toBuffer(value) as Uint8Array);
  }
  const object: Record<string, Uint8Array | Uint8Array[]> = {};
  for (const [key, values] of Object.entries(grouped)) object[key] = values.length === 1 ? values[0] : values;
  return object;
}

/** Encodes with kafkajs's RecordBatch v0 (= Kafka RecordBatch v2); baseTimestamp is the first record's. */
export async function kafkajsEncode(records: TestRecord[], fields: TestBatchFields): Promise<Uint8Array> {
  const baseTimestamp = records[0].timestamp;
  const maxTimestamp = Math.max(...records.map((r) => r.timestamp));
  const encoded = records.map((record, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: record.timestamp - baseTimestamp,
      key: toBuffer(record.key),
      value: toBuffer(record.value),
      headers: headersObject(record.headers),
    }),
  );
  const batch = await v0.RecordBatch({
    compression: fields.compression === "gzip" ? 1 : 0,
    firstOffset: fields.baseOffset,
    firstTimestamp: baseTimestamp,
    maxTimestamp,
    partitionLeaderEpoch: fields.partitionLeaderEpoch,
    lastOffsetDelta: records.length - 1,
    transactional: fields.isTransactional,
    producerId: fields.producerId,
    producerEpoch: fields.producerEpoch,
    firstSequence: fields.baseSequence,
    records: encoded,
  });
  return new Uint8Array(batch.buffer);
}

const plain = (bytes: Uint8Array | null): Uint8Array | null => (bytes === null ? null : new Uint8Array(bytes));

/** Decodes with kafkajs's RecordBatch decoder and normalizes its strings and Buffers. */
export async function kafkajsDecode(bytes: Uint8Array): Promise<NormalizedBatch> {
  const batch = await decodeRecordBatch(new Decoder(asBuffer(bytes)));
  return {
    baseOffset: Number(batch.firstOffset),
    partitionLeaderEpoch: batch.partitionLeaderEpoch,
    producerId: Number(batch.producerId),
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.firstSequence,
    isTransactional: batch.inTransaction,
    baseTimestamp: Number(batch.firstTimestamp),
    maxTimestamp: Number(batch.maxTimestamp),
    lastOffsetDelta: batch.lastOffsetDelta,
    records: batch.records.map((record) => ({
      offset: Number(record.offset),
      timestamp: Number(record.timestamp),
      key: plain(record.key),
      value: plain(record.value),
      headers: Object.entries(record.headers).flatMap(([key, value]) =>
        (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: plain(v) })),
      ),
    })),
  };
}
