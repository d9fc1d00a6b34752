/**
 * Feeds a group socket: reads every started partition from its leader and sends records frames
 * within the socket's credit.
 *
 * Each started partition has at most one read in flight. A partition that is behind reserves its
 * share of the credit (credit.ts) and reads that much at once; one that is caught up long-polls
 * (LONG_POLL_MS) for about its share without holding credit, so that an idle partition does not
 * starve the others, and a record appended to it reaches the socket within milliseconds. What a
 * read returns is sent only as far as the credit reserved for it goes: the session never sends
 * past the credit, and what it holds is bounded by the shares it asked for. Per partition, frames go out in
 * order: a read starts at the offset after the last record sent, and the position moves only
 * when a frame is sent (no gap, no duplicate). A partition stopped or moved while its read is in
 * flight has that read's result thrown away.
 */
import { EdgelogError } from "../../protocol/errors";
import { jsonRecordsFrom, type JsonRecord } from "../../protocol/json-record";
import { utf8Length } from "../../protocol/utf8";
import { withTopic } from "../cluster/metadata";
import type { Env } from "../env";
import type { Grant } from "../access/authorizer";
import { consumerRate, frameCap, meterPush } from "../access/socket-access";
import type { TopicPartition } from "../group/assignors";
import { LIMITS } from "../../protocol/limits";
import { readFrom, statusOf } from "../cluster/partition-client";
import type { ReadResult } from "../partition/types";
import type { Connection } from "./connection";
import type { Reservation } from "./credit";
import { recordsFrame, resetFrame } from "./frames";
import { tpKey } from "../../protocol/wire";

/** The most one frame carries. */
export const FRAME = { records: 5_000, bytes: 1024 * 1024 } as const;
/** How long a read waits at the leader for new records. */
export const LONG_POLL_MS = 10_000;
/** How long a partition whose read failed (a reset object, a topic being deleted) waits. */
const RETRY_MS = 1_000;

interface Reader {
  tp: TopicPartition;
  position: number;
  reading: boolean;
  retryAt: number;
  /** The byte credit the next record needs (one larger than a share waits for a share that big). */
  needBytes: number;
  /** The last read reached the high watermark: the next one long-polls. */
  caughtUp: boolean;
}

export interface FeedHost {
  env: Env;
  /** The generation records frames carry. */
  generation(): number;
  /** A started partition's next offset moved (to be stored). */
  moved(tp: TopicPartition, position: number): void;
  /** The grant the socket was opened with (auth on), whose consumer_byte_rate meters the frames. */
  grant(): Grant | undefined;
}

export class Feed {
  #host: FeedHost;
  #conn: Connection | null = null;
  #readers = new Map<string, Reader>();
  #turn = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(host: FeedHost) {
    this.#host = host;
  }

  /** A new socket (or none): every partition stops until the client starts it there. */
  attach(conn: Connection | null): void {
    this.#conn = conn;
    this.#readers.clear();
  }

  /** Sends `tp` from `position` on (again, if it was started: a read in flight is thrown away). */
  start(tp: TopicPartition, position: number): void {
    this.#readers.set(tpKey(tp), {
      tp: { topic: tp.topic, partition: tp.partition },
      position,
      reading: false,
      retryAt: 0,
      needBytes: 1,
      caughtUp: false,
    });
    this.#host.moved(tp, position);
    this.pump();
  }

  /** Sends nothing more of `tp`, from now on. */
  stop(tp: TopicPartition): void {
    this.#readers.delete(tpKey(tp));
  }

  /** Starts a read for every partition without one, as far as the credit goes. */
  pump(): void {
    const conn = this.#conn;
    if (!conn?.open) return;
    const now = Date.now();
    const idle = [...this.#readers.values()].filter((r) => !r.reading && r.retryAt <= now);
    // Scarce credit goes round the partitions instead of always to the first ones.
    const first = idle.length === 0 ? 0 : this.#turn++ % idle.length;
    for (let i = 0; i < idle.length; i++) {
      const r = idle[(first + i) % idle.length];
      // A partition known to be behind reserves its share and reads at once; a caught-up one
      // long-polls for about its share without holding credit, and claims it when records come.
      const ask = r.caughtUp
        ? conn.credit.share(idle.length, r.needBytes, FRAME)
        : conn.credit.reserve(idle.length - i, r.needBytes, FRAME);
      if (ask) void this.#read(r, conn, ask, !r.caughtUp);
    }
    const retries = [...this.#readers.values()].filter((r) => r.retryAt > now).map((r) => r.retryAt);
    if (retries.length > 0 && this.#timer === null) {
      this.#timer = setTimeout(
        () => {
          this.#timer = null;
          this.pump();
        },
        Math.min(...retries) - now,
      );
    }
  }

  /** One read of `r`: with `reserved`, `ask` is its reservation; else a long-poll that claims credit once records come. */
  async #read(r: Reader, conn: Connection, ask: Reservation, reserved: boolean): Promise<void> {
    r.reading = true;
    const { env } = this.#host;
    let reservation: Reservation | null = reserved ? ask : null;
    let sent = { records: 0, bytes: 0 };
    try {
      const from = r.position;
      const grant = this.#host.grant();
      const rate = grant ? await consumerRate(env, grant) : undefined;
      const read = await withTopic(env, r.tp.topic, (topic) =>
        readFrom(env, topic, r.tp.partition, {
          offset: from,
          maxRecords: ask.records,
          maxBytes: Math.min(ask.bytes, FRAME.bytes, frameCap(rate)),
          maxWaitMs: reserved ? 0 : LONG_POLL_MS,
          minBytes: 1,
          ...(conn.committed ? { isolation: "read_committed" as const } : {}),
        }),
      );
      if (!this.#current(r, conn)) return;
      const records = await jsonRecordsFrom(read.data, from, {
        maxRecords: ask.records,
        maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes,
        aborted: conn.committed ? (read.abortedTransactions ?? []) : undefined,
      });
      if (!this.#current(r, conn)) return;
      if (records.length > 0 && rate !== undefined) {
        // Over the consumer_byte_rate quota: the read is dropped, and made again once the throttle passes.
        const wait = await meterPush(env, grant!.principal, rate, read.data.byteLength);
        if (wait > 0) {
          r.retryAt = Date.now() + wait;
          return;
        }
        if (!this.#current(r, conn)) return;
      }
      reservation ??= records.length === 0 ? null : conn.credit.reserve(1, r.needBytes, ask);
      sent = reservation ? this.#send(r, conn, records, read, reservation) : this.#skipHole(r, records, read);
      r.caughtUp = r.position >= (conn.committed ? (read.lastStableOffset ?? read.highWatermark) : read.highWatermark);
    } catch (err) {
      if (this.#current(r, conn)) await this.#failed(r, conn, err).catch(() => this.#retryLater(r));
    } finally {
      r.reading = false;
      if (reservation) conn.credit.settle(reservation, sent.records, sent.bytes);
      if (conn.open) conn.save();
      this.pump();
    }
  }

  /** No records: past offsets no record holds (a hole in a batch), if the read moved. */
  #skipHole(r: Reader, records: JsonRecord[], read: ReadResult): { records: number; bytes: number } {
    if (records.length === 0 && read.nextOffset > r.position) this.#moveTo(r, read.nextOffset);
    return { records: 0, bytes: 0 };
  }

  /** Sends what fits the reservation as one frame; answers what it took. */
  #send(
    r: Reader,
    conn: Connection,
    records: JsonRecord[],
    read: ReadResult,
    reservation: Reservation,
  ): { records: number; bytes: number } {
    const parts: string[] = [];
    let bytes = 0;
    for (const record of records.slice(0, reservation.records)) {
      const text = JSON.stringify(record);
      const size = utf8Length(text);
      if (bytes + size > reservation.bytes) {
        if (parts.length === 0) r.needBytes = size;
        break;
      }
      parts.push(text);
      bytes += size;
    }
    if (parts.length === 0) return this.#skipHole(r, records, read);
    r.needBytes = 1;
    const whole = parts.length === records.length && records.length < reservation.records;
    const nextOffset = whole ? read.nextOffset : records[parts.length - 1].offset + 1;
    conn.send(recordsFrame(r.tp, this.#host.generation(), parts, { nextOffset, highWatermark: read.highWatermark, bytes }));
    this.#moveTo(r, nextOffset);
    return { records: parts.length, bytes };
  }

  /** A failed read: an offset out of range moves by autoOffsetReset (told); anything else is retried. */
  async #failed(r: Reader, conn: Connection, err: unknown): Promise<void> {
    if (!(err instanceof EdgelogError) || err.code !== "OFFSET_OUT_OF_RANGE") {
      if (!(err instanceof EdgelogError)) console.error("edgelog: group session read failed", err);
      return this.#retryLater(r);
    }
    const { env } = this.#host;
    const status = await withTopic(env, r.tp.topic, (topic) => statusOf(env, topic, r.tp.partition));
    if (!this.#current(r, conn)) return;
    const offset = conn.autoOffsetReset === "latest" ? status.highWatermark : status.logStartOffset;
    conn.send(resetFrame(r.tp, r.position, offset, err));
    this.#moveTo(r, offset);
  }

  #moveTo(r: Reader, position: number): void {
    r.position = position;
    this.#host.moved(r.tp, position);
  }

  /** Reads `r` again after RETRY_MS (pump sets the timer). */
  #retryLater(r: Reader): void {
    r.retryAt = Date.now() + RETRY_MS;
  }

  /** Whether a read's result still counts: same partition start, same socket, still open. */
  #current(r: Reader, conn: Connection): boolean {
    return this.#readers.get(tpKey(r.tp)) === r && this.#conn === conn && conn.open;
  }
}
