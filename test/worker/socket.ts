/**
 * A test's end of a WebSocket opened through the worker (SELF.fetch with Upgrade: websocket):
 * every frame it receives, in order, and a bounded wait for the next one that matches.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { BASE } from "./helpers";

export type Frame = Record<string, unknown> | ArrayBuffer;

export interface Socket {
  ws: WebSocket;
  /** Every frame received, text frames parsed. */
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  /** Sends a JSON frame. */
  send(frame: unknown): void;
  /** The next frame (after the ones already returned) that matches; throws after `timeoutMs`. */
  next(predicate?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
}

/** Opens a socket at `path` (e.g. "/v1/topics/t/partitions/0/subscribe?offset=0"), asserting the 101. */
export async function openSocket(path: string): Promise<Socket> {
  const res = await SELF.fetch(`${BASE}${path}`, { headers: { upgrade: "websocket" } });
  expect(res.status, res.status === 101 ? "" : await res.text()).toBe(101);
  const ws = res.webSocket!;
  (ws as unknown as { binaryType: string }).binaryType = "arraybuffer";
  ws.accept();
  const frames: Frame[] = [];
  let waiter: (() => void) | null = null;
  ws.addEventListener("message", (e) => {
    if (typeof e.data === "string") frames.push(JSON.parse(e.data));
    else if (e.data instanceof ArrayBuffer) frames.push(e.data);
    else throw new Error(`unexpected frame type ${Object.prototype.toString.call(e.data)}`);
    waiter?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.addEventListener("close", (e) => r({ code: e.code, reason: e.reason })),
  );
  let read = 0;
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    async next(predicate = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (read < frames.length) {
          const f = frames[read++];
          if (predicate(f)) return f;
        }
        if (Date.now() > deadline) throw new Error("no frame in time");
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}
