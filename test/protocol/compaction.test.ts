/**
 * Compaction's batch rewrite (protocol/compaction.ts) and the sparse batches it makes: a
 * retained batch holds exactly the kept records at their original offsets, keeps the header
 * fields offsets and producer state are read from, and reads back in edgelog and in kafkajs;
 * only a producer's batch must be dense.
 */
import { describe, expect, it } from "vitest";
import { retainRecords } from "../../protocol/compaction";
import { decodeRecords, encodeBatch, readBatchHeader, validateBatch } from "../../protocol/record-batch";
import type { Compression, DecodedRecord, RecordInput } from "../../protocol/record-batch";
import { writeBatchHeader } from "../../protocol/record-batch-header";
import { kafkajsDecode } from "./kafkajs";
import { prng, randomBytes, toHex, utf8 } from "./support";

function randomRecords(random: () => number, count: number): RecordInput[] {
  const base = 1_700_000_000_000;
  return Array.from({ length: count }, (_, i) => ({
    key: random() < 0.1 ? null : utf8(`k${Math.floor(random() * 8)}`),
    value: random() < 0.15 ? null : randomBytes(random, Math.floor(random() * 50)),
    headers: random() < 0.3 ? [{ key: "h", value: utf8(String(i)) }] : [],
    timestamp: base + Math.floor(random() * 10_000),
  }));
}

const plain = (r: DecodedRecord) => ({
  offset: r.offset,
  timestamp: r.timestamp,
  key: r.key && toHex(r.key),
  value: r.value && toHex(r.value),
  headers: r.headers.map((h) => [h.key, h.value && toHex(h.value)]),
});

async function encoded(random: () => number, compression: Compression): Promise<Uint8Array> {
  const batch = await encodeBatch(randomRecords(random, 1 + Math.floor(random() * 30)), {
    compression,
    baseOffset: Math.floor(random() * 1e9),
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 100,
    partitionLeaderEpoch: 7,
  });
  return batch;
}

describe("retainRecords", () => {
  it("keeps exactly the records asked for, at their offsets, with the header's offsets and producer fields unchanged (seeded, none and gzip)", async () => {
    for (let seed = 1; seed <= 120; seed++) {
      const random = prng(seed);
      const compression: Compression = seed % 2 ? "none" : "gzip";
      const batch = await encoded(random, compression);
      const all = await decodeRecords(batch);
      const keepSet = new Set(all.filter(() => random() < 0.5).map((r) => r.offset));
      const out = await retainRecords(batch, (r) => keepSet.has(r.offset));
      const wanted = all.filter((r) => keepSet.has(r.offset));
      if (wanted.length === 0) {
        expect(out, `seed ${seed}`).toBeNull();
        continue;
      }
      if (wanted.length === all.length) {
        expect(out, `seed ${seed}`).toBe(batch);
        continue;
      }
      const kept = out!;
      expect((await decodeRecords(kept)).map(plain), `seed ${seed}`).toEqual(wanted.map(plain));
      const before = readBatchHeader(batch);
      const after = readBatchHeader(kept);
      for (const field of [
        "baseOffset",
        "lastOffsetDelta",
        "baseTimestamp",
        "producerId",
        "producerEpoch",
        "baseSequence",
        "partitionLeaderEpoch",
        "attributes",
      ] as const) {
        expect(after[field], `seed ${seed} ${field}`).toBe(before[field]);
      }
      expect(after.recordCount).toBe(wanted.length);
      expect(after.maxTimestamp).toBe(Math.max(...wanted.map((r) => r.timestamp)));
      expect(kept.length).toBeLessThan(batch.length + (compression === "gzip" ? 64 : 0));
      // A producer must not send such a batch; a stored one is valid.
      await expect(validateBatch(kept, { dense: true })).rejects.toMatchObject({ code: "CORRUPT_MESSAGE" });
      await expect(validateBatch(kept)).resolves.toMatchObject({ recordCount: wanted.length });
      // A real Kafka client reads it with the same offsets.
      const theirs = await kafkajsDecode(kept);
      expect(theirs.records.map((r) => r.offset)).toEqual(wanted.map((r) => r.offset));
      expect(theirs.lastOffsetDelta).toBe(before.lastOffsetDelta);
      // Compacting again composes: what a second pass keeps is what both predicates keep.
      const again = await retainRecords(kept, (r) => r.offset % 2 === 0);
      const both = wanted.filter((r) => r.offset % 2 === 0);
      if (both.length === 0) expect(again).toBeNull();
      else expect((await decodeRecords(again!)).map(plain)).toEqual(both.map(plain));
    }
  });

  it("refuses a sparse batch whose offsetDeltas go backwards, pass lastOffsetDelta, or outnumber it, with CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch([0, 1, 2, 3].map((i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) })));
    const kept = (await retainRecords(batch, (r) => r.offset === 1 || r.offset === 3))!;
    const header = readBatchHeader(kept);
    const rewritten = (lastOffsetDelta: number, recordCount = header.recordCount) => {
      const copy = kept.slice();
      writeBatchHeader(copy, { ...header, lastOffsetDelta, recordCount });
      return copy;
    };
    // The last kept record has delta 3: a lastOffsetDelta of 2 is passed by it.
    await expect(decodeRecords(rewritten(2))).rejects.toMatchObject({ code: "CORRUPT_MESSAGE" });
    // More records than offsets.
    await expect(decodeRecords(rewritten(0, 2))).rejects.toMatchObject({ code: "CORRUPT_MESSAGE" });
    // Deltas backwards: swap the two records' bodies (3 then 1).
    const records = kept.subarray(61);
    const firstLength = records[0] / 2 + 1; // zig-zag varint of a small length, plus itself
    const swapped = new Uint8Array(kept.length);
    swapped.set(kept.subarray(0, 61));
    swapped.set(records.subarray(firstLength), 61);
    swapped.set(records.subarray(0, firstLength), 61 + records.length - firstLength);
    writeBatchHeader(swapped, { ...header, maxTimestamp: header.maxTimestamp });
    await expect(decodeRecords(swapped)).rejects.toMatchObject({ code: "CORRUPT_MESSAGE" });
    await expect(decodeRecords(kept)).resolves.toHaveLength(2);
  });

  it("returns a control batch as it is", async () => {
    const batch = await encodeBatch([{ key: utf8("k"), value: null }], { isTransactional: true });
    const view = new DataView(batch.buffer, batch.byteOffset);
    view.setInt16(21, view.getInt16(21) | 0x20);
    writeBatchHeader(batch, { ...readBatchHeader(batch, 0, { checkCrc: false }) });
    expect(await retainRecords(batch, () => false)).toBe(batch);
  });
});
