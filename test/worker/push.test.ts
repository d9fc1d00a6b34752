/**
 * WebSocket push from a partition: stored records from the offset, then each new record as it
 * is appended, in order, without gaps or duplicates; flow control by credit; bounds that close
 * with a documented code and the offset to resume from.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decodeRecords, splitBatches } from "../../protocol/record-batch";
import { BASE, api, createTopic, produce, uniqueTopic } from "./helpers";
import { openSocket, type Frame, type Socket } from "./socket";

/** Subscribes to partition 0 of `topic` with `query` (e.g. "offset=0&format=binary"). */
function subscribe(topic: string, query: string): Promise<Socket> {
  return openSocket(`/v1/topics/${topic}/partitions/0/subscribe?${query}`);
}

const offsetsOf = (f: Frame) => ((f as { records: { offset: number }[] }).records ?? []).map((r) => r.offset);

describe("partition subscriptions", () => {
  it("send the stored records from the offset, then each new record as it is appended, in order, with no gap or duplicate", async () => {
    const name = uniqueTopic("push");
    await createTopic(name, 1);
    await produce(
      name,
      Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: 0 })),
    );
    const s = await subscribe(name, "offset=2");
    const first = (await s.next()) as { records: { offset: number; value: string }[]; highWatermark: number };
    expect(first.records.map((r) => [r.offset, r.value])).toEqual([
      [2, "v2"],
      [3, "v3"],
      [4, "v4"],
    ]);
    expect(first.highWatermark).toBe(5);
    const seen = [...offsetsOf(first)];
    for (let round = 0; round < 5; round++) {
      await produce(name, [
        { value: { round }, partition: 0 },
        { value: `again${round}`, partition: 0 },
      ]);
      while (seen.length < 3 + (round + 1) * 2) seen.push(...offsetsOf(await s.next()));
    }
    expect(seen).toEqual(Array.from({ length: 13 }, (_, i) => i + 2));
    s.ws.close(1000);
  });

  it("answer pings with pongs, and refuse malformed client frames with an error frame without closing", async () => {
    const name = uniqueTopic("ping");
    await createTopic(name, 1);
    const s = await subscribe(name, "offset=0");
    s.ws.send('{"type":"ping"}');
    expect(await s.next((f) => (f as { type?: string }).type === "pong")).toEqual({ type: "pong" });
    s.ws.send("not json");
    const error = (await s.next((f) => (f as { type?: string }).type === "error")) as { error: { code: string } };
    expect(error.error.code).toBe("INVALID_REQUEST");
    await produce(name, [{ value: "still open", partition: 0 }]);
    expect(offsetsOf(await s.next((f) => offsetsOf(f).length > 0))).toEqual([0]);
    s.ws.close(1000);
  });

  it("in credit mode never send past the credit granted", async () => {
    const name = uniqueTopic("credit");
    await createTopic(name, 1);
    const s = await subscribe(name, `offset=0`);
    s.ws.send(JSON.stringify({ type: "credit", records: 3 }));
    // Each produce is its own batch of one record, so the server can stop exactly at the credit.
    for (let i = 0; i < 6; i++) await produce(name, [{ value: `c${i}`, partition: 0 }]);
    const got: number[] = [];
    while (got.length < 3) got.push(...offsetsOf(await s.next()));
    await new Promise((r) => setTimeout(r, 300));
    expect(s.frames.flatMap((f) => offsetsOf(f))).toEqual([0, 1, 2]);
    s.ws.send(JSON.stringify({ type: "credit", records: 10 }));
    while (got.length < 6) got.push(...offsetsOf(await s.next()));
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    s.ws.close(1000);
  });

  it("opened with mode=credit, send nothing before the first grant, then exactly what it grants", async () => {
    const name = uniqueTopic("credit-mode");
    await createTopic(name, 1);
    for (let i = 0; i < 4; i++) await produce(name, [{ value: `m${i}`, partition: 0 }]);
    const s = await subscribe(name, "offset=0&mode=credit");
    await new Promise((r) => setTimeout(r, 300));
    expect(s.frames).toEqual([]);
    s.ws.send(JSON.stringify({ type: "credit", records: 2 }));
    const got: number[] = [];
    while (got.length < 2) got.push(...offsetsOf(await s.next()));
    await new Promise((r) => setTimeout(r, 300));
    expect(s.frames.flatMap((f) => offsetsOf(f))).toEqual([0, 1]);
    s.ws.close(1000);
  });

  it("send binary frames of the stored batches with format=binary", async () => {
    const name = uniqueTopic("binary");
    await createTopic(name, 1);
    await produce(name, [
      { value: "a", partition: 0 },
      { value: "b", partition: 0 },
    ]);
    const s = await subscribe(name, "offset=1&format=binary");
    const frame = (await s.next()) as ArrayBuffer;
    expect(frame).toBeInstanceOf(ArrayBuffer);
    const records = [];
    for (const b of splitBatches(new Uint8Array(frame))) records.push(...(await decodeRecords(b.bytes)));
    expect(records.filter((r) => r.offset >= 1).map((r) => new TextDecoder().decode(r.value!))).toEqual(["b"]);
    s.ws.close(1000);
  });

  it("close a push-mode subscriber that was sent past the bound without acking, with code 4008 and the offset to resume from", async () => {
    const name = uniqueTopic("bound");
    await createTopic(name, 1);
    const big = "x".repeat(9_000);
    // 1,200 records of ~9 KB: past both bounds (1,000 records and 8 MiB) with records left to send.
    for (let i = 0; i < 12; i++)
      await produce(
        name,
        Array.from({ length: 100 }, () => ({ value: big, partition: 0 })),
      );
    const s = await subscribe(name, "offset=0");
    const { code, reason } = await s.closed;
    expect(code).toBe(4008);
    const { resumeOffset } = JSON.parse(reason);
    const received = s.frames.flatMap((f) => offsetsOf(f));
    // At least the first 1,000 records, no gap, and the resume offset continues exactly after them.
    expect(received.length).toBeGreaterThanOrEqual(1000);
    expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i));
    expect(resumeOffset).toBe(received.length);
  }, 20_000);

  it("refuse a subscription beyond the high watermark, an unknown topic, and a request that is not an upgrade", async () => {
    const name = uniqueTopic("refuse");
    await createTopic(name, 1);
    const beyond = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/subscribe?offset=5`, { headers: { upgrade: "websocket" } });
    expect(beyond.status).toBe(400);
    expect(((await beyond.json()) as { error: { code: string } }).error.code).toBe("OFFSET_OUT_OF_RANGE");
    const unknown = await SELF.fetch(`${BASE}/v1/topics/nope-${name}/partitions/0/subscribe?offset=0`, {
      headers: { upgrade: "websocket" },
    });
    expect(unknown.status).toBe(404);
    const plain = await api(`/v1/topics/${name}/partitions/0/subscribe?offset=0`);
    expect(plain.status).toBe(400);
  });

  it("tell subscribers when their topic is deleted (close code 4004)", async () => {
    const name = uniqueTopic("gone");
    await createTopic(name, 1);
    const s = await subscribe(name, "offset=0");
    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);
    expect((await s.closed).code).toBe(4004);
  });
});
