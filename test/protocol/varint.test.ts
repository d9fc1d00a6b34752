import Decoder from "kafkajs/src/protocol/decoder.js";
import Encoder from "kafkajs/src/protocol/encoder.js";
import { describe, expect, it } from "vitest";
import { Reader, Writer, varintSize, varlongSize } from "../../protocol/varint";
import { asBuffer } from "./node";
import { expectError, fromHex, prng, toHex } from "./support";

const writeVarint = (value: number): string => {
  const w = new Writer(1);
  w.varint(value);
  return toHex(w.finish());
};
const writeVarlong = (value: number): string => {
  const w = new Writer(1);
  w.varlong(value);
  return toHex(w.finish());
};

describe("zig-zag varint (int32)", () => {
  it("encodes Kafka's documented examples byte for byte", () => {
    expect(writeVarint(0)).toBe("00");
    expect(writeVarint(-1)).toBe("01");
    expect(writeVarint(1)).toBe("02");
    expect(writeVarint(63)).toBe("7e");
    expect(writeVarint(-64)).toBe("7f");
    expect(writeVarint(64)).toBe("8001");
    expect(writeVarint(300)).toBe("d804");
    expect(writeVarint(2147483647)).toBe("feffffff0f");
    expect(writeVarint(-2147483648)).toBe("ffffffff0f");
  });

  it("writes the same bytes as kafkajs and reads back every value, with varintSize equal to the bytes written", () => {
    const random = prng(1);
    const values = [0, -1, 1, 63, 64, -64, -65, 8191, 8192, 2 ** 20, -(2 ** 27), 2 ** 31 - 1, -(2 ** 31)];
    for (let i = 0; i < 2000; i++) values.push((Math.floor(random() * 2 ** 32) | 0) >> Math.floor(random() * 31));
    for (const value of values) {
      const hex = writeVarint(value);
      expect(hex, `value ${value}`).toBe(toHex(new Encoder().writeVarInt(value).buffer));
      expect(varintSize(value)).toBe(hex.length / 2);
      expect(new Reader(fromHex(hex)).varint()).toBe(value);
    }
  });

  it("accepts non-minimal encodings, as Kafka does", () => {
    expect(new Reader(fromHex("8000")).varint()).toBe(0);
    expect(new Reader(fromHex("8180808000")).varint()).toBe(-1);
  });

  it("refuses a varint whose 5th byte carries more than 32 bits with CORRUPT_MESSAGE", async () => {
    await expectError(() => new Reader(fromHex("ffffffff1f")).varint(), "CORRUPT_MESSAGE", /32 bits/);
    await expectError(() => new Reader(fromHex("ffffffff8f01")).varint(), "CORRUPT_MESSAGE", /32 bits/);
  });

  it("refuses a varint cut short by the end of the input with CORRUPT_MESSAGE", async () => {
    await expectError(() => new Reader(new Uint8Array(0)).varint(), "CORRUPT_MESSAGE");
    await expectError(() => new Reader(fromHex("8080")).varint(), "CORRUPT_MESSAGE");
    await expectError(() => new Reader(fromHex("d804"), 0, 1).varint(), "CORRUPT_MESSAGE");
  });
});

describe("zig-zag varlong (int64 within the safe-integer range)", () => {
  it("writes the same bytes as kafkajs across the safe-integer range and reads them back exactly", () => {
    const random = prng(2);
    const values = [
      0,
      -1,
      1,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      -(2 ** 31) - 1,
      2 ** 32,
      -(2 ** 32),
      2 ** 35 - 1,
      1_700_000_000_000,
      -1_700_000_000_000,
      2 ** 52,
      -(2 ** 52),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53 - 2,
      -(2 ** 53 - 2),
    ];
    for (let i = 0; i < 3000; i++) {
      const magnitude = Math.floor(random() * 2 ** Math.floor(random() * 54));
      values.push(random() < 0.5 && magnitude !== 0 ? -magnitude : magnitude);
    }
    for (const value of values) {
      const hex = writeVarlong(value);
      expect(hex, `value ${value}`).toBe(toHex(new Encoder().writeVarLong(value).buffer));
      expect(varlongSize(value), `size of ${value}`).toBe(hex.length / 2);
      expect(new Reader(fromHex(hex)).varlong(), `read ${value}`).toBe(value);
      expect(new Decoder(asBuffer(fromHex(hex))).readVarLong().toString()).toBe(String(value));
    }
  });

  it("refuses varlongs outside ±(2^53 - 1) with CORRUPT_MESSAGE instead of rounding them", async () => {
    for (const value of [2n ** 53n, -(2n ** 53n), 2n ** 62n, -(2n ** 63n)]) {
      const bytes = new Encoder().writeVarLong(value).buffer;
      await expectError(() => new Reader(bytes).varlong(), "CORRUPT_MESSAGE", /safe integer/);
    }
  });

  it("refuses a varlong longer than 10 bytes or cut short with CORRUPT_MESSAGE", async () => {
    await expectError(() => new Reader(fromHex("8080808080808080808000")).varlong(), "CORRUPT_MESSAGE", /10 bytes/);
    await expectError(() => new Reader(fromHex("80808080")).varlong(), "CORRUPT_MESSAGE");
    await expectError(() => new Reader(fromHex("8080808080")).varlong(), "CORRUPT_MESSAGE");
  });
});

describe("Writer and Reader", () => {
  it("an exactly sized Writer never reallocates; a small one doubles and keeps what it wrote", () => {
    const exact = new Writer(1 + 2 + 4 + 8 + 2);
    const buffer = exact.bytes;
    exact.int8(-1);
    exact.int16(-2);
    exact.int32(-3);
    exact.int64(-4);
    exact.varint(300);
    expect(exact.bytes).toBe(buffer);
    expect(toHex(exact.finish())).toBe("fffffefffffffdfffffffffffffffcd804");

    const small = new Writer(1);
    for (let i = 0; i < 1000; i++) small.varint(i);
    const reader = new Reader(small.finish());
    for (let i = 0; i < 1000; i++) expect(reader.varint()).toBe(i);
    expect(reader.remaining).toBe(0);
  });

  it("reads big-endian fixed-width fields and int64 as numbers", () => {
    const reader = new Reader(fromHex("fffffefffffffd80000000fffffffffffffffc0000018bcfe56800"));
    expect(reader.int8()).toBe(-1);
    expect(reader.int16()).toBe(-2);
    expect(reader.int32()).toBe(-3);
    expect(reader.uint32()).toBe(0x80000000);
    expect(reader.int64()).toBe(-4);
    expect(reader.int64()).toBe(1_700_000_000_000);
  });

  it("refuses an int64 outside the safe-integer range with CORRUPT_MESSAGE", async () => {
    await expectError(() => new Reader(fromHex("0020000000000000")).int64(), "CORRUPT_MESSAGE", /safe integer/);
    await expectError(() => new Reader(fromHex("ffe0000000000000")).int64(), "CORRUPT_MESSAGE", /safe integer/);
  });

  it("refuses every read past its end, including a narrowed end, with CORRUPT_MESSAGE", async () => {
    const bytes = fromHex("0102030405060708");
    await expectError(() => new Reader(bytes, 6).int32(), "CORRUPT_MESSAGE", /needed 4 bytes/);
    await expectError(() => new Reader(bytes, 0, 7).int64(), "CORRUPT_MESSAGE");
    await expectError(() => new Reader(bytes, 8).int8(), "CORRUPT_MESSAGE");
    await expectError(() => new Reader(bytes, 2, 4).bytesView(3), "CORRUPT_MESSAGE");
    await expectError(() => new Reader(bytes).bytesView(-2), "CORRUPT_MESSAGE", /negative/);
  });

  it("returns bytes as views into the input, not copies", () => {
    const bytes = fromHex("0102030405");
    const view = new Reader(bytes, 1).bytesView(3);
    expect(Array.from(view)).toEqual([2, 3, 4]);
    expect(view.buffer).toBe(bytes.buffer);
  });

  it("writes UTF-8 identical to TextEncoder, surrogate pairs and lone surrogates included", () => {
    for (const text of ["", "key", "é", "€", "日本語", "🎉 party", "a\uD800b", "\uDC00", "\uFEFFbom"]) {
      const w = new Writer(1);
      w.utf8(text);
      expect(toHex(w.finish()), JSON.stringify(text)).toBe(toHex(new TextEncoder().encode(text)));
    }
  });
});
