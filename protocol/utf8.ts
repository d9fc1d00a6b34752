/**
 * UTF-8 for record header keys, the only strings inside a RecordBatch v2.
 *
 * Wire use (inside a Record's headers):
 *   headerKeyLength varint  number of UTF-8 bytes that follow (never -1: Kafka keys are not null)
 *   headerKey       bytes   UTF-8, no terminator, no BOM handling (a leading U+FEFF is part of the key)
 *
 * Encoding is done by hand so the batch encoder can size a record before writing it into one
 * pre-sized buffer, without a TextEncoder allocation per header. Decoding is strict (fatal) because
 * a header key that is not UTF-8 means the batch is corrupt, not that it should be guessed at.
 */

import { EdgelogError } from "./errors";

/**
 * Number of bytes `text` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder does).
 *
 * @example
 * utf8Length("trace-id"); // 8
 * utf8Length("é"); // 2
 */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 2; // a pair: two UTF-16 units become four bytes
      i++;
    } else length += 2;
  }
  return length;
}

/**
 * Writes `text` as UTF-8 into `into` at `at` and returns the position after it.
 * The caller sized `into` with {@link utf8Length}.
 *
 * @example
 * const out = new Uint8Array(utf8Length("key"));
 * writeUtf8(out, 0, "key"); // 3
 */
export function writeUtf8(into: Uint8Array, at: number, text: string): number {
  let p = at;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      into[p++] = c;
      continue;
    }
    if (c < 0x800) {
      into[p++] = 0xc0 | (c >> 6);
      into[p++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLowSurrogate(next)) {
        const code = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        into[p++] = 0xf0 | (code >> 18);
        into[p++] = 0x80 | ((code >> 12) & 0x3f);
        into[p++] = 0x80 | ((code >> 6) & 0x3f);
        into[p++] = 0x80 | (code & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd; // a lone surrogate has no UTF-8 form: replace it, as TextEncoder does
    }
    into[p++] = 0xe0 | (c >> 12);
    into[p++] = 0x80 | ((c >> 6) & 0x3f);
    into[p++] = 0x80 | (c & 0x3f);
  }
  return p;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

// ignoreBOM keeps a leading U+FEFF in the key, as Java's decoder does, instead of silently dropping it.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes `bytes[start..end)` as UTF-8, throwing CORRUPT_MESSAGE if they are not valid UTF-8.
 * Short ASCII strings (the usual header key) skip TextDecoder.
 *
 * @example
 * readUtf8(new Uint8Array([0x6b, 0x31]), 0, 2, "header key"); // "k1"
 */
export function readUtf8(bytes: Uint8Array, start: number, end: number, what: string): string {
  if (end - start <= 32) {
    let ascii = "";
    let i = start;
    for (; i < end; i++) {
      const b = bytes[i];
      if (b >= 0x80) break;
      ascii += String.fromCharCode(b);
    }
    if (i === end) return ascii;
  }
  try {
    return strictDecoder.decode(bytes.subarray(start, end));
  } catch {
    throw new EdgelogError("CORRUPT_MESSAGE", `${what} is not valid UTF-8`);
  }
}
