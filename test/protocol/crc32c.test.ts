import crc32CKafkajs from "kafkajs/src/protocol/recordBatch/crc32C/index.js";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../protocol/crc32c";
import { asBuffer } from "./node";
import { prng, randomBytes, utf8 } from "./support";

describe("crc32c", () => {
  it('computes the CRC-32C check value: "123456789" -> 0xE3069283', () => {
    expect(crc32c(utf8("123456789"))).toBe(0xe3069283);
  });

  it("matches the RFC 3720 (iSCSI) test vectors", () => {
    const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
    const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(ascending)).toBe(0x46dd794e);
    expect(crc32c(descending)).toBe(0x113fdb5c);
  });

  it("returns 0 for no bytes and an unsigned 32-bit number otherwise", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    const value = crc32c(new Uint8Array([0x80]));
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThan(2 ** 32);
  });

  it("agrees with kafkajs's CRC-32C on random inputs of every length from 0 to 300 bytes and a 100 KB one", () => {
    const random = prng(7);
    for (let length = 0; length <= 300; length++) {
      const bytes = randomBytes(random, length);
      expect(crc32c(bytes), `length ${length}`).toBe(crc32CKafkajs(asBuffer(bytes)));
    }
    const large = randomBytes(random, 100_000);
    expect(crc32c(large)).toBe(crc32CKafkajs(asBuffer(large)));
  });

  it("covers exactly bytes [start, end), whatever the view's offset into its buffer", () => {
    const random = prng(11);
    const bytes = randomBytes(random, 200);
    for (const [start, end] of [
      [0, 200],
      [21, 200],
      [3, 19],
      [5, 5],
      [17, 150],
    ]) {
      const expected = crc32c(bytes.slice(start, end));
      expect(crc32c(bytes, start, end)).toBe(expected);
      expect(crc32c(bytes.subarray(start, end))).toBe(expected);
    }
  });

  it("refuses a range outside the input with RangeError instead of reading garbage", () => {
    const bytes = new Uint8Array(10);
    expect(() => crc32c(bytes, -1)).toThrow(RangeError);
    expect(() => crc32c(bytes, 0, 11)).toThrow(RangeError);
    expect(() => crc32c(bytes, 6, 5)).toThrow(RangeError);
  });
});
