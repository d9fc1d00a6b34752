/**
 * gzip for record batches (compression codec 1), on the Web Compression Streams API only, so the
 * same code runs in the Worker, in browsers and in Node 20.
 *
 * Wire grammar of what this reads and writes (RFC 1952, one or more members back to back):
 *   id1 id2   uint8 uint8  0x1f 0x8b
 *   cm        uint8        8 (deflate)
 *   flg       uint8        optional-field flags (FTEXT, FHCRC, FEXTRA, FNAME, FCOMMENT)
 *   mtime     uint32 LE    modification time (ignored)
 *   xfl, os   uint8 uint8
 *   [optional fields per flg]
 *   deflate   ...          RFC 1951 compressed blocks
 *   crc32     uint32 LE    CRC-32 of the uncompressed data (checked by the decompressor)
 *   isize     uint32 LE    uncompressed length mod 2^32 (checked by the decompressor)
 * In a v2 RecordBatch the gzip stream replaces the records region (everything after recordsCount);
 * its uncompressed content is the records exactly as an uncompressed batch would carry them.
 *
 * Decompression is guarded: a batch of a few KiB can inflate ~1000x, so gunzip feeds the input in
 * small slices (the stream's backpressure then bounds what it inflates ahead of us) and stops,
 * with CORRUPT_MESSAGE, as soon as the output passes the caller's limit.
 */

import { EdgelogError } from "./errors";

/** Input slice fed to the decompressor at a time: deflate expands at most ~1032x, so ~4 MiB in flight. */
const INPUT_SLICE = 4096;
/** Smallest possible gzip member: 10-byte header, 2-byte empty deflate block, 8-byte trailer. */
const MIN_GZIP_SIZE = 20;

const ignore = (): void => {};

/** Streams take BufferSource, which TypeScript types as ArrayBuffer-backed; a record batch always is. */
function source(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/**
 * gzip-compresses `bytes`.
 *
 * @example
 * const packed = await gzip(new TextEncoder().encode("hello hello hello"));
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  // Errors surface through the reader; the writer's promises are only there to be not left unhandled.
  writer.write(source(bytes)).catch(ignore);
  writer.close().catch(ignore);
  return collect(stream.readable.getReader(), Infinity, "gzip compression failed");
}

/**
 * Decompresses gzip `bytes`, refusing with CORRUPT_MESSAGE input that is not valid gzip (bad header,
 * truncated, CRC or length mismatch, trailing garbage) and output larger than `maxOutputBytes`,
 * which it detects without holding more than `maxOutputBytes` of output.
 *
 * @example
 * const records = await gunzip(payload, 64 * 1024 * 1024);
 */
export async function gunzip(bytes: Uint8Array, maxOutputBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!(maxOutputBytes >= 0)) throw new RangeError(`maxOutputBytes ${maxOutputBytes} must be a non-negative number`);
  if (bytes.length < MIN_GZIP_SIZE) {
    throw new EdgelogError("CORRUPT_MESSAGE", `invalid gzip data: ${bytes.length} bytes is shorter than any gzip stream`);
  }
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new EdgelogError("CORRUPT_MESSAGE", "invalid gzip data: missing the 1f 8b magic bytes");
  }
  // The trailer's declared size is checked by the decompressor, so a valid stream claiming more than
  // the limit will produce more than the limit: refuse it before inflating anything.
  const n = bytes.length;
  const declared = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
  if (declared > maxOutputBytes) {
    throw new EdgelogError("CORRUPT_MESSAGE", `gzip data declares ${declared} uncompressed bytes, over the limit of ${maxOutputBytes}`);
  }

  const stream = new DecompressionStream("gzip");
  const writer = stream.writable.getWriter();
  // Queue the input as views in small slices; the stream pulls them one at a time as output drains.
  for (let at = 0; at < n; at += INPUT_SLICE) writer.write(source(bytes.subarray(at, Math.min(at + INPUT_SLICE, n)))).catch(ignore);
  writer.close().catch(ignore);
  return collect(stream.readable.getReader(), maxOutputBytes, "invalid gzip data");
}

async function collect(
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>,
  limit: number,
  failure: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        reader.cancel().catch(ignore);
        throw new EdgelogError("CORRUPT_MESSAGE", `gzip data inflates past the limit of ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof EdgelogError) throw error;
    throw new EdgelogError("CORRUPT_MESSAGE", `${failure}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
