import gzipKafkajs from "kafkajs/src/protocol/message/compression/gzip.js";
import { describe, expect, it } from "vitest";
import { gunzip, gzip } from "../../protocol/compression";
import { NodeBuffer } from "./node";
import { concat, expectError, prng, randomBytes, utf8 } from "./support";

const MiB = 1024 * 1024;

describe("gzip / gunzip", () => {
  it("round-trips empty, small, random and highly compressible inputs", async () => {
    const random = prng(3);
    for (const input of [new Uint8Array(0), utf8("hello"), randomBytes(random, 70_000), new Uint8Array(300_000).fill(7)]) {
      const packed = await gzip(input);
      expect(packed[0]).toBe(0x1f);
      expect(packed[1]).toBe(0x8b);
      expect(await gunzip(packed, input.length)).toEqual(input);
    }
  });

  it("reads gzip made by kafkajs (Node's zlib), and kafkajs reads ours", async () => {
    const input = randomBytes(prng(4), 10_000);
    const theirs = await gzipKafkajs.compress({ buffer: NodeBuffer.from(input) });
    expect(await gunzip(new Uint8Array(theirs), MiB)).toEqual(input);
    const ours = await gzip(input);
    expect(new Uint8Array(await gzipKafkajs.decompress(NodeBuffer.from(ours)))).toEqual(input);
  });

  it("accepts output exactly at maxOutputBytes", async () => {
    const input = new Uint8Array(100_000).fill(1);
    expect((await gunzip(await gzip(input), 100_000)).length).toBe(100_000);
  });

  it("refuses input that is not gzip with CORRUPT_MESSAGE", async () => {
    await expectError(() => gunzip(new Uint8Array(0), MiB), "CORRUPT_MESSAGE", /invalid gzip/);
    await expectError(() => gunzip(utf8("definitely not a gzip stream"), MiB), "CORRUPT_MESSAGE", /magic/);
    const garbage = randomBytes(prng(5), 500);
    garbage[0] = 0x1f;
    garbage[1] = 0x8b;
    garbage.fill(0, garbage.length - 4); // declared size 0, so only the decompressor can object
    await expectError(() => gunzip(garbage, MiB), "CORRUPT_MESSAGE", /invalid gzip/);
  });

  it("refuses truncated gzip, a corrupted CRC-32 trailer and trailing garbage with CORRUPT_MESSAGE", async () => {
    const packed = await gzip(randomBytes(prng(6), 5000));
    await expectError(() => gunzip(packed.subarray(0, packed.length - 9), MiB), "CORRUPT_MESSAGE");
    const badCrc = packed.slice();
    badCrc[badCrc.length - 8] ^= 0xff;
    await expectError(() => gunzip(badCrc, MiB), "CORRUPT_MESSAGE", /invalid gzip/);
    const junk = concat(packed, utf8("junk"));
    junk.set(packed.subarray(packed.length - 4), junk.length - 4); // keep a plausible size at the end
    await expectError(() => gunzip(junk, MiB), "CORRUPT_MESSAGE", /invalid gzip/);
  });

  it("refuses a gzip bomb declaring more than maxOutputBytes before inflating it", async () => {
    const bomb = await gzip(new Uint8Array(16 * MiB));
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expectError(() => gunzip(bomb, MiB), "CORRUPT_MESSAGE", /over the limit of 1048576/);
  });

  it("refuses a gzip bomb that lies about its size as soon as its output passes maxOutputBytes", async () => {
    const bomb = await gzip(new Uint8Array(16 * MiB));
    bomb.fill(0, bomb.length - 4); // trailer now claims 0 bytes
    await expectError(() => gunzip(bomb, MiB), "CORRUPT_MESSAGE", /inflates past the limit of 1048576/);
  });
});
