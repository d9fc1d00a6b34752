/**
 * Types for the kafkajs 2.2.4 internals the protocol tests use as a reference implementation.
 * kafkajs ships types for its public client only; these deep CommonJS modules have none.
 * Only what the tests touch is declared. Buffers are typed as Uint8Array (Buffer extends it).
 */

declare module "kafkajs/src/protocol/encoder.js" {
  class Encoder {
    constructor(initialSize?: number);
    readonly buffer: Uint8Array;
    writeVarInt(value: number): Encoder;
    writeVarLong(value: number | bigint | object): Encoder;
  }
  export default Encoder;
}

declare module "kafkajs/src/protocol/decoder.js" {
  class Decoder {
    constructor(buffer: Uint8Array);
    readVarInt(): number;
    readVarLong(): { toString(): string };
  }
  export default Decoder;
}

declare module "kafkajs/src/protocol/recordBatch/v0/index.js" {
  interface RecordBatchOptions {
    compression?: number;
    firstOffset?: number;
    firstTimestamp?: number;
    maxTimestamp?: number;
    partitionLeaderEpoch?: number;
    lastOffsetDelta?: number;
    transactional?: boolean;
    producerId?: number;
    producerEpoch?: number;
    firstSequence?: number;
    records?: object[];
  }
  const v0: {
    RecordBatch(options: RecordBatchOptions): Promise<{ buffer: Uint8Array }>;
    MAGIC_BYTE: number;
  };
  export default v0;
}

declare module "kafkajs/src/protocol/recordBatch/v0/decoder.js" {
  interface KafkajsDecodedRecord {
    offset: string;
    timestamp: string;
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers: Record<string, Uint8Array | null | (Uint8Array | null)[]>;
    isControlRecord: boolean;
  }
  interface KafkajsDecodedBatch {
    firstOffset: string;
    firstTimestamp: string;
    maxTimestamp: string;
    partitionLeaderEpoch: number;
    inTransaction: boolean;
    isControlBatch: boolean;
    lastOffsetDelta: number;
    producerId: string;
    producerEpoch: number;
    firstSequence: number;
    timestampType: number;
    records: KafkajsDecodedRecord[];
  }
  function decodeRecordBatch(decoder: object): Promise<KafkajsDecodedBatch>;
  export default decodeRecordBatch;
}

declare module "kafkajs/src/protocol/recordBatch/record/v0/index.js" {
  function Record(fields: {
    offsetDelta?: number;
    timestampDelta?: number;
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers?: Record<string, Uint8Array | Uint8Array[]>;
  }): object;
  export default Record;
}

declare module "kafkajs/src/protocol/recordBatch/crc32C/index.js" {
  function crc32C(buffer: Uint8Array): number;
  export default crc32C;
}

declare module "kafkajs/src/protocol/message/compression/gzip.js" {
  const gzipCodec: {
    compress(encoder: { buffer: Uint8Array }): Promise<Uint8Array>;
    decompress(buffer: Uint8Array): Promise<Uint8Array>;
  };
  export default gzipCodec;
}

declare module "kafkajs/src/producer/partitioners/default/murmur2.js" {
  function murmur2(key: Uint8Array | string): number;
  export default murmur2;
}

declare module "kafkajs/src/producer/partitioners/default/index.js" {
  function createDefaultPartitioner(): (args: {
    topic: string;
    partitionMetadata: { partitionId: number; leader: number }[];
    message: { key: Uint8Array | null; partition?: number | null };
  }) => number;
  export default createDefaultPartitioner;
}
