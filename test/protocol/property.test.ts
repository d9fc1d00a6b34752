import { describe, expect, it } from "vitest";
import { assignOffsets, decodeRecords, encodeBatch, readBatchHeader, splitBatches, validateBatch } from "../../protocol/record-batch";
import type { Compression, RecordHeader, RecordInput } from "../../protocol/record-batch";
import { kafkajsDecode } from "./kafkajs";
import { concat, prng, randomBytes, toHex } from "./support";

const KEY_ALPHABET = ["a", "b", "z", "-", "_", "0", "é", "ß", "日", "🎉", "\uFEFF", " "];

function randomText(random: () => number, maxLength: number): string {
  let text = "";
  const length = Math.floor(random() * (maxLength + 1));
  for (let i = 0; i < length; i++) text += KEY_ALPHABET[Math.floor(random() * KEY_ALPHABET.length)];
  return text;
}

function randomField(random: () => number, maxLength: number): Uint8Array | null {
  const roll = random();
  if (roll < 0.15) return null;
  if (roll < 0.25) return new Uint8Array(0);
  return randomBytes(random, Math.floor(random() * maxLength));
}

function randomRecords(random: () => number): RecordInput[] {
  const count = 1 + Math.floor(random() * 40);
  const base = Math.floor(random() * 2 ** 45);
  return Array.from({ length: count }, () => {
    const headers: RecordHeader[] = Array.from({ length: Math.floor(random() * 4) }, () => ({
      key: randomText(random, 12),
      value: randomField(random, 40),
    }));
    const roll = random();
    // Mostly near the base; sometimes far away (varlong deltas beyond int32), sometimes the batch default.
    const timestamp = roll < 0.1 ? undefined : roll < 0.2 ? Math.floor(random() * 2 ** 50) : base + Math.floor(random() * 20_000) - 10_000;
    return { key: randomField(random, 64), value: randomField(random, 600), headers, timestamp };
  });
}

/** Bytes as hex: vitest's deep equality walks typed arrays element by element, ~100x slower. */
function hexed<T>(value: T): unknown {
  if (value instanceof Uint8Array) return `hex:${toHex(value)}`;
  if (Array.isArray(value)) return value.map(hexed);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hexed(v)]));
  return value;
}

function groupedAsObject(headers: RecordHeader[]): RecordHeader[] {
  const grouped: Record<string, (Uint8Array | null)[]> = {};
  for (const { key, value } of headers) (grouped[key] ??= []).push(value);
  return Object.entries(grouped).flatMap(([key, values]) => values.map((value) => ({ key, value })));
}

describe("property: random records survive encode -> decode (seeded)", () => {
  for (const compression of ["none", "gzip"] as const satisfies readonly Compression[]) {
    it(`300 random batches round-trip exactly through edgelog and read the same through kafkajs (${compression})`, async () => {
      const random = prng(compression === "none" ? 1001 : 2002);
      for (let round = 0; round < 300; round++) {
        const records = randomRecords(random);
        const fallback = 1_700_000_000_000 + round;
        const baseOffset = Math.floor(random() * 2 ** 40);
        const batch = await encodeBatch(records, {
          compression,
          timestamp: fallback,
          baseOffset,
          producerId: random() < 0.5 ? -1 : Math.floor(random() * 2 ** 50),
          producerEpoch: Math.floor(random() * 32768),
          baseSequence: Math.floor(random() * 2 ** 31),
        });
        const expected = records.map((r, i) => ({
          offset: baseOffset + i,
          timestamp: r.timestamp ?? fallback,
          key: r.key,
          value: r.value,
          headers: r.headers ?? [],
        }));
        const decoded = await decodeRecords(batch);
        expect(hexed(decoded), `round ${round}`).toEqual(hexed(expected));
        expect(await validateBatch(batch)).toEqual(readBatchHeader(batch));
        // kafkajs returns headers as an object keyed by header key, which regroups repeated keys
        // (and moves integer-like keys first); compare against the same regrouping.
        const asKafkajsSeesThem = expected.map((r) => ({ ...r, headers: groupedAsObject(r.headers) }));
        expect(hexed((await kafkajsDecode(batch)).records), `kafkajs, round ${round}`).toEqual(hexed(asKafkajsSeesThem));
      }
    });
  }

  it("random batches, offsets assigned in place and concatenated, split back into the same records", async () => {
    const random = prng(3003);
    const batches: Uint8Array[] = [];
    const expected: { offset: number; value: Uint8Array | null }[] = [];
    let next = 0;
    for (let i = 0; i < 50; i++) {
      const records = randomRecords(random);
      const batch = await encodeBatch(records, { compression: random() < 0.5 ? "gzip" : "none", timestamp: 1 });
      assignOffsets(batch, next, i);
      records.forEach((r, j) => expected.push({ offset: next + j, value: r.value }));
      next += records.length;
      batches.push(batch);
    }
    const split = splitBatches(concat(...batches));
    expect(split.map((b) => b.header.partitionLeaderEpoch)).toEqual(batches.map((_, i) => i));
    const decoded = (await Promise.all(split.map((b) => decodeRecords(b.bytes)))).flat();
    expect(hexed(decoded.map((r) => ({ offset: r.offset, value: r.value })))).toEqual(hexed(expected));
  });
});
