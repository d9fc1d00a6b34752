/**
 * Shared test tools: a seeded PRNG, hex, error assertions and a batch workbench for building
 * deliberately broken batches (hand-made records, re-sealed CRCs).
 */

import { expect } from "vitest";
import { crc32c } from "../../protocol/crc32c";
import { EdgelogError } from "../../protocol/errors";
import type { ErrorCode } from "../../protocol/errors";
import { BATCH_FIELD, writeBatchHeader } from "../../protocol/record-batch-header";
import { Writer } from "../../protocol/varint";

/** mulberry32: a small seeded PRNG, so "random" tests replay exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Asserts that `run` throws (or rejects with) an EdgelogError with `code`; returns it. */
export async function expectError(run: () => unknown, code: ErrorCode, message?: RegExp): Promise<EdgelogError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected an EdgelogError").toBeInstanceOf(EdgelogError);
  const error = caught as EdgelogError;
  expect(error.code, error.message).toBe(code);
  if (message) expect(error.message).toMatch(message);
  return error;
}

/** Recomputes the CRC after tampering, so a test reaches the checks behind the CRC. */
export function reseal(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setUint32(BATCH_FIELD.crc, crc32c(batch, BATCH_FIELD.attributes));
  return batch;
}

/** A copy of `batch` with an int32/int16/int8 field overwritten and the CRC resealed. */
export function withField(batch: Uint8Array, at: number, value: number, width: 1 | 2 | 4 | 8 = 4): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer);
  if (width === 1) view.setInt8(at, value);
  else if (width === 2) view.setInt16(at, value);
  else if (width === 4) view.setInt32(at, value);
  else view.setBigInt64(at, BigInt(value));
  return at >= BATCH_FIELD.attributes ? reseal(copy) : copy;
}

export interface RawRecord {
  /** Overrides the true length of the record body. */
  length?: number;
  timestampDelta?: number;
  offsetDelta: number;
  /** null = null; a number = just that (possibly lying) length varint with no bytes. */
  key?: Uint8Array | null | number;
  value?: Uint8Array | null | number;
  headers?: { key: Uint8Array | number; value: Uint8Array | null }[];
  headerCount?: number;
  /** Bytes appended inside the record after its fields. */
  trailing?: number[];
}

function bytesField(w: Writer, field: Uint8Array | null | number | undefined): void {
  if (field === undefined || field === null) w.varint(-1);
  else if (typeof field === "number") w.varint(field);
  else {
    w.varint(field.length);
    w.raw(field);
  }
}

/** Hand-builds one record's bytes, including lies the encoder would never write. */
export function rawRecord(record: RawRecord): Uint8Array {
  const body = new Writer(64);
  body.int8(0);
  body.varlong(record.timestampDelta ?? 0);
  body.varint(record.offsetDelta);
  bytesField(body, record.key);
  bytesField(body, record.value);
  const headers = record.headers ?? [];
  body.varint(record.headerCount ?? headers.length);
  for (const header of headers) {
    bytesField(body, header.key);
    bytesField(body, header.value);
  }
  for (const b of record.trailing ?? []) body.int8(b);
  const bodyBytes = body.finish();
  const out = new Writer(bodyBytes.length + 5);
  out.varint(record.length ?? bodyBytes.length);
  out.raw(bodyBytes);
  return out.finish().slice();
}

/** Builds a sealed v2 batch around raw record bytes (the header counts them unless told otherwise). */
export function batchOf(
  records: Uint8Array,
  fields: { recordCount: number; lastOffsetDelta?: number; attributes?: number; baseTimestamp?: number; maxTimestamp?: number },
): Uint8Array {
  const batch = new Uint8Array(BATCH_FIELD.records + records.length);
  batch.set(records, BATCH_FIELD.records);
  writeBatchHeader(batch, {
    baseOffset: 0,
    partitionLeaderEpoch: 0,
    attributes: fields.attributes ?? 0,
    lastOffsetDelta: fields.lastOffsetDelta ?? fields.recordCount - 1,
    baseTimestamp: fields.baseTimestamp ?? 1_700_000_000_000,
    maxTimestamp: fields.maxTimestamp ?? 1_700_000_000_000,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: fields.recordCount,
  });
  return batch;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
