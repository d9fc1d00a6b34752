/**
 * Zig-zag varints and the byte Writer/Reader the record codec is built on.
 *
 * Wire grammar (as Kafka's Record uses it, ByteUtils.writeVarint / writeVarlong):
 *   zig-zag   n >= 0 -> 2n,  n < 0 -> -2n - 1   (so small negatives stay small: -1 -> 1, 1 -> 2)
 *   base-128  the zig-zag value, least significant 7 bits first; each byte carries 7 bits and
 *             bit 7 (0x80) set means "another byte follows".
 *   varint    int32 value: at most 5 bytes; the 5th byte may hold only 4 bits (0x00..0x0f).
 *   varlong   int64 value: at most 10 bytes. edgelog keeps numbers as JS numbers, so a varlong
 *             outside ±(2^53 - 1) is refused as CORRUPT_MESSAGE rather than silently rounded.
 *   Examples: 0 -> 00, -1 -> 01, 1 -> 02, 63 -> 7e, -64 -> 7f, 64 -> 80 01, 300 -> d8 04.
 *
 * Fixed-width fields next to the varints (int8/16/32/64) are big-endian, as everywhere in Kafka.
 * Non-minimal encodings (e.g. 80 00 for 0) are accepted on read, as Kafka accepts them.
 */

import { EdgelogError } from "./errors";
import { utf8Length, writeUtf8 } from "./utf8";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_POW_27 = 134217728;

/**
 * Bytes taken by `value` (an int32) as a zig-zag varint.
 *
 * @example
 * varintSize(-1); // 1
 * varintSize(300); // 2
 */
export function varintSize(value: number): number {
  const zz = ((value << 1) ^ (value >> 31)) >>> 0;
  return zz < 0x80 ? 1 : zz < 0x4000 ? 2 : zz < 0x200000 ? 3 : zz < 0x10000000 ? 4 : 5;
}

/**
 * Bytes taken by `value` (a safe integer) as a zig-zag varlong.
 *
 * @example
 * varlongSize(1_700_000_000_000); // 6
 */
export function varlongSize(value: number): number {
  if ((value | 0) === value) return varintSize(value);
  // Beyond int32 the zig-zag value 2m+s (m = |value| or |value|-1) can exceed 2^53, so count the
  // 7-bit groups of m/64 instead of forming it: the first byte holds 6 bits of m plus the sign bit.
  let rest = Math.floor((value < 0 ? -value - 1 : value) / 64);
  let size = 1;
  do {
    size++;
    rest = Math.floor(rest / 128);
  } while (rest > 0);
  return size;
}

/**
 * A growable big-endian byte writer. Size it exactly and it never copies; otherwise it doubles.
 * It trusts its inputs (int32 for varint, safe integers for varlong/int64): callers validate.
 *
 * @example
 * const w = new Writer(8);
 * w.varint(300); w.int16(-1);
 * w.finish(); // Uint8Array [0xd8, 0x04, 0xff, 0xff]
 */
export class Writer {
  bytes: Uint8Array<ArrayBuffer>;
  view: DataView;
  pos = 0;

  constructor(capacity = 256) {
    this.bytes = new Uint8Array(Math.max(capacity, 1));
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  int8(value: number): void {
    this.ensure(1);
    this.view.setInt8(this.pos, value);
    this.pos += 1;
  }

  int16(value: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, value);
    this.pos += 2;
  }

  int32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }

  uint32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value);
    this.pos += 4;
  }

  int64(value: number): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt(value));
    this.pos += 8;
  }

  varint(value: number): void {
    // Ask for the exact size only near the end, so an exactly-sized writer never grows.
    if (this.bytes.length - this.pos < 5) this.ensure(varintSize(value));
    const bytes = this.bytes;
    let p = this.pos;
    let zz = ((value << 1) ^ (value >> 31)) >>> 0;
    while (zz >= 0x80) {
      bytes[p++] = (zz & 0x7f) | 0x80;
      zz >>>= 7;
    }
    bytes[p++] = zz;
    this.pos = p;
  }

  varlong(value: number): void {
    if ((value | 0) === value) return this.varint(value); // same bytes, cheaper arithmetic
    if (this.bytes.length - this.pos < 10) this.ensure(varlongSize(value));
    const bytes = this.bytes;
    let p = this.pos;
    // zig-zag = 2m + sign with m < 2^53; emit its low 7 bits as (m mod 64)*2 + sign, then m / 64.
    const negative = value < 0;
    const m = negative ? -value - 1 : value;
    bytes[p++] = ((m % 64) * 2 + (negative ? 1 : 0)) | 0x80;
    let rest = Math.floor(m / 64); // > 0 here, since |value| >= 2^31
    while (rest >= 0x80) {
      bytes[p++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    bytes[p++] = rest;
    this.pos = p;
  }

  /** Copies `source` in. */
  raw(source: Uint8Array): void {
    this.ensure(source.length);
    this.bytes.set(source, this.pos);
    this.pos += source.length;
  }

  /** Writes `text` as UTF-8; `byteLength` is its {@link utf8Length}, which the caller already needed. */
  utf8(text: string, byteLength = utf8Length(text)): void {
    this.ensure(byteLength);
    this.pos = writeUtf8(this.bytes, this.pos, text);
  }

  /** The written bytes (a view, not a copy). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.bytes.subarray(0, this.pos);
  }
}

/**
 * A bounds-checked big-endian reader over `bytes[start..end)`. Every read past `end` throws
 * CORRUPT_MESSAGE; `end` may be narrowed (e.g. to one record) while reading.
 *
 * @example
 * const r = new Reader(new Uint8Array([0xd8, 0x04, 0x01]));
 * r.varint(); // 300
 * r.varint(); // -1
 * r.varint(); // throws EdgelogError CORRUPT_MESSAGE
 */
export class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const value = this.view.getInt16(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.view.getInt32(this.pos);
    this.pos += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }

  /** An int64 as a number; CORRUPT_MESSAGE if it is outside the safe integer range. */
  int64(): number {
    this.need(8);
    const value = this.view.getBigInt64(this.pos);
    if (value > BigInt(MAX_SAFE) || value < -BigInt(MAX_SAFE)) {
      throw new EdgelogError("CORRUPT_MESSAGE", `int64 ${value} at byte ${this.pos} is outside the safe integer range`);
    }
    this.pos += 8;
    return Number(value);
  }

  varint(): number {
    const bytes = this.bytes;
    const end = this.end;
    let p = this.pos;
    if (p >= end) this.pastEnd("varint");
    let b = bytes[p++];
    let zz = b & 0x7f;
    if (b >= 0x80) {
      let shift = 7;
      do {
        if (p >= end) this.pastEnd("varint");
        b = bytes[p++];
        if (shift === 28) {
          // The 5th byte carries bits 28..31 only; more (or a continuation) is not an int32.
          if (b > 0x0f) throw new EdgelogError("CORRUPT_MESSAGE", `varint at byte ${this.pos} does not fit in 32 bits`);
          zz |= b << 28;
          break;
        }
        zz |= (b & 0x7f) << shift;
        shift += 7;
      } while (b >= 0x80);
    }
    this.pos = p;
    return (zz >>> 1) ^ -(zz & 1);
  }

  varlong(): number {
    const bytes = this.bytes;
    const end = this.end;
    let p = this.pos;
    let zz = 0;
    let shift = 0;
    let b: number;
    // Fast path: up to 4 bytes (28 bits) fit int32 arithmetic; timestamp deltas usually do.
    do {
      if (p >= end) this.pastEnd("varlong");
      b = bytes[p++];
      zz |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80 && shift < 28);
    if (b >= 0x80) return this.varlongTail(p, zz);
    this.pos = p;
    return (zz >>> 1) ^ -(zz & 1);
  }

  /** Continues a varlong whose first 4 bytes gave `low28`, in float arithmetic that stays exact below 2^53. */
  private varlongTail(p: number, low28: number): number {
    const bytes = this.bytes;
    let high = 0;
    let scale = 1;
    let count = 4;
    let b: number;
    do {
      if (count === 10) throw new EdgelogError("CORRUPT_MESSAGE", `varlong at byte ${this.pos} is longer than 10 bytes`);
      if (p >= this.end) this.pastEnd("varlong");
      b = bytes[p++];
      count++;
      high += (b & 0x7f) * scale;
      scale *= 128;
    } while (b >= 0x80);
    // zig-zag value = high * 2^28 + low28; magnitude = floor(that / 2), sign = its low bit.
    const magnitude = high * TWO_POW_27 + (low28 >>> 1);
    const negative = (low28 & 1) === 1;
    if (magnitude > MAX_SAFE || (negative && magnitude === MAX_SAFE)) {
      throw new EdgelogError("CORRUPT_MESSAGE", `varlong at byte ${this.pos} is outside the safe integer range`);
    }
    this.pos = p;
    return negative ? -magnitude - 1 : magnitude;
  }

  /** The next `length` bytes as a view into the underlying buffer (no copy). */
  bytesView(length: number): Uint8Array {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return this.bytes.subarray(start, this.pos);
  }

  /** Advances past `length` bytes. */
  skip(length: number): void {
    this.need(length);
    this.pos += length;
  }

  private need(n: number): void {
    if (n < 0) throw new EdgelogError("CORRUPT_MESSAGE", `negative length ${n} at byte ${this.pos}`);
    if (this.end - this.pos < n) {
      throw new EdgelogError(
        "CORRUPT_MESSAGE",
        `needed ${n} byte${n === 1 ? "" : "s"} at byte ${this.pos} but only ${Math.max(this.end - this.pos, 0)} remain`,
      );
    }
  }

  private pastEnd(what: string): never {
    throw new EdgelogError("CORRUPT_MESSAGE", `${what} at byte ${this.pos} runs past the end of its range (byte ${this.end})`);
  }
}
