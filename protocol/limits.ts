/** Request limits of the HTTP API (documented in the README and the OpenAPI document). */
export const LIMITS = {
  /** Largest JSON produce body. */
  jsonBodyBytes: 8 * 1024 * 1024,
  /** Largest binary produce body (one or more record batches). */
  binaryBodyBytes: 8 * 1024 * 1024,
  /** Largest admin body (topic create, config). */
  adminBodyBytes: 64 * 1024,
  /** Most records in one JSON produce request. */
  jsonRecordsPerRequest: 10_000,
  /** Fetch: default and largest maxRecords. */
  defaultMaxRecords: 500,
  maxRecords: 10_000,
  /** Fetch: default and largest maxBytes (Kafka's max.partition.fetch.bytes default is 1 MiB). */
  defaultMaxBytes: 1024 * 1024,
  maxBytes: 8 * 1024 * 1024,
  /** Longest long-poll. */
  maxWaitMs: 30_000,
  /** Largest uncompressed size of one gzip batch (decompression holds about twice this). */
  maxUncompressedBatchBytes: 16 * 1024 * 1024,
  /** Most record batches in one binary produce request. */
  batchesPerRequest: 1_000,
} as const;
