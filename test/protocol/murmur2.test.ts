import createDefaultPartitioner from "kafkajs/src/producer/partitioners/default/index.js";
import murmur2Kafkajs from "kafkajs/src/producer/partitioners/default/murmur2.js";
import { describe, expect, it } from "vitest";
import { murmur2, partitionForKey, toPositive } from "../../protocol/murmur2";
import { NodeBuffer } from "./node";
import { expectError, prng, randomBytes, utf8 } from "./support";

describe("murmur2 (Kafka's default partitioner hash)", () => {
  it("gives the values Kafka's own Utils.murmur2 test expects", () => {
    expect(murmur2(utf8("21"))).toBe(-973932308);
    expect(murmur2(utf8("foobar"))).toBe(-790332482);
    expect(murmur2(utf8("a-little-bit-long-string"))).toBe(-985981536);
    expect(murmur2(utf8("a-little-bit-longer-string"))).toBe(-1486304829);
    expect(murmur2(utf8("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"))).toBe(-58897971);
    expect(murmur2(new Uint8Array([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it("agrees with kafkajs on fixed strings, including empty, 1-3 byte tails and non-ASCII", () => {
    for (const text of ["", "a", "ab", "abc", "abcd", "abcde", "user-42", "order:2024-01-01:0001", "clé", "🎉🎉", "\u0000\u00ff"]) {
      expect(murmur2(utf8(text)), JSON.stringify(text)).toBe(murmur2Kafkajs(NodeBuffer.from(utf8(text))));
    }
  });

  it("agrees with kafkajs on 10,000 random keys of 0-64 bytes (seeded)", () => {
    const random = prng(42);
    for (let i = 0; i < 10_000; i++) {
      const key = randomBytes(random, Math.floor(random() * 65));
      expect(murmur2(key)).toBe(murmur2Kafkajs(NodeBuffer.from(key)));
    }
  });

  it("returns a signed 32-bit integer", () => {
    const random = prng(43);
    for (let i = 0; i < 1000; i++) {
      const h = murmur2(randomBytes(random, 8));
      expect(h | 0).toBe(h);
    }
  });
});

describe("toPositive and partitionForKey", () => {
  it("toPositive clears the sign bit rather than negating, as Kafka does", () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
    expect(toPositive(-973932308)).toBe(1173551340);
  });

  it("partitionForKey equals toPositive(murmur2(key)) % n and kafkajs's default partitioner", () => {
    const random = prng(44);
    const partitioner = createDefaultPartitioner();
    for (let i = 0; i < 2000; i++) {
      const key = randomBytes(random, 1 + Math.floor(random() * 40));
      const n = 1 + Math.floor(random() * 100);
      const expected = toPositive(murmur2(key)) % n;
      expect(partitionForKey(key, n)).toBe(expected);
      const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0 }));
      expect(partitioner({ topic: "t", partitionMetadata, message: { key: NodeBuffer.from(key) } })).toBe(expected);
    }
  });

  it("partitionForKey refuses a partition count that is not a positive integer with INVALID_PARTITIONS", async () => {
    for (const n of [0, -3, 1.5, Number.NaN, 2 ** 31]) {
      await expectError(() => partitionForKey(utf8("k"), n), "INVALID_PARTITIONS");
    }
  });
});
