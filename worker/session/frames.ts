/**
 * The group subscription's wire grammar: one WebSocket carrying every partition a member of a
 * consumer group is assigned, served by the member's GroupSession object (session-do.ts).
 *
 *   GET /v1/groups/{group}/members/{memberId}/subscribe?autoOffsetReset=earliest|latest
 *       (Upgrade: websocket; browsers pass the token as ?access_token=)
 *
 * Frames (server -> client). Every frame is a text frame holding a JSON object:
 *   {"type": "assignment", "generation": g,
 *    "assignment": [{"topic", "partition", "committed": n|null, "resetId": n|null}],
 *    "revoked": [{"topic", "partition"}]}
 *       First frame of every connection, and again whenever the generation or the assignment
 *       changes. `assignment` is every partition the member may read now, with the group's
 *       committed offset and the reset it belongs to (for a client caching offsets). `revoked`
 *       lists partitions taken away since the previous frame: nothing more of them is sent. When it
 *       is not empty the session stops heartbeating until the client has committed what it
 *       processed of them and sent "released"; only then does the group hand them on.
 *   {"type": "records", "topic", "partition", "generation", "records": [...], "nextOffset",
 *    "highWatermark", "bytes"}
 *       Records of a started partition (the fetch shape), in order, with no gap and no duplicate.
 *       `bytes` is what the frame took from the byte credit: the UTF-8 size of its records' JSON.
 *   {"type": "reset", "topic", "partition", "from", "offset", "error": {...}}
 *       The partition's position was out of range (retention removed it, or it is past the end):
 *       reading goes on from `offset`, the log start or end as autoOffsetReset says.
 *   {"type": "pong"}                                           answer to {"type": "ping"}
 *   {"type": "error", "error": {code, message, retriable}}     a client frame (or part of one) was
 *                                                              refused; the socket stays open
 * Frames (client -> server), all JSON objects:
 *   {"type": "ping"}
 *   {"type": "credit", "records"?: n, "bytes"?: n}
 *       Grants more. Nothing is sent before the first grant and never past the credit; a dimension
 *       the first grant leaves out is not limited. A record larger than the byte credit waits.
 *   {"type": "start", "partitions": [{"topic", "partition", "offset"?}], "generation"?: g}
 *       Reads these assigned partitions from `offset` (default: the committed offset, else
 *       autoOffsetReset); starting a started partition again moves it. Partitions not assigned are
 *       refused (REBALANCE_IN_PROGRESS) and the others started; a stale `generation` refuses all.
 *   {"type": "released", "generation": g}
 *       The partitions generation g revoked are committed: the session heartbeats at once.
 *
 * Close codes (GROUP_SOCKET_CLOSE, protocol/wire/close-codes.ts); each close reason is JSON
 * {"code"} with the error code:
 *   4009  another connection for this member replaced this one
 *   4025  UNKNOWN_MEMBER_ID: the member left or expired (or never joined): join again
 *   4082  FENCED_INSTANCE_ID: a newer member with the same instanceId replaced it
 * push.ts's 4004/4008/4016 have no use here: a deleted topic's partitions leave the assignment,
 * credit is the only mode, and a position out of range is a "reset" frame, not a close.
 *
 * The frames' types, shared with the client, are protocol/wire/group-frames.ts.
 */
import { EdgelogError } from "../../protocol/errors";
import type { AssignedPartition, AssignmentFrame, ErrorFrame, GroupCloseReason, ResetFrame } from "../../protocol/wire";
import type { TopicPartition } from "../group/assignors";

export type { AssignedPartition } from "../../protocol/wire";

export type AutoOffsetReset = "earliest" | "latest";

export interface StartRequest {
  topic: string;
  partition: number;
  /** Null: the committed offset, else autoOffsetReset. */
  offset: number | null;
}

export type ClientFrame =
  | { type: "ping" }
  | { type: "credit"; records?: number; bytes?: number }
  | { type: "start"; partitions: StartRequest[]; generation: number | null }
  | { type: "released"; generation: number };

/** The most partitions one start frame may name. */
const MAX_START = 10_000;

const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses a client frame, or throws INVALID_REQUEST saying what is wrong. */
export function parseClientFrame(data: string | ArrayBuffer): ClientFrame {
  let frame: Record<string, unknown>;
  try {
    if (typeof data !== "string") throw new Error();
    frame = JSON.parse(data);
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) throw new Error();
  } catch {
    throw new EdgelogError("INVALID_REQUEST", "client frames are JSON text objects: {type: ping | credit | start | released}");
  }
  switch (frame.type) {
    case "ping":
      return { type: "ping" };
    case "credit":
      if (
        (frame.records !== undefined && !count(frame.records)) ||
        (frame.bytes !== undefined && !count(frame.bytes)) ||
        (frame.records === undefined && frame.bytes === undefined)
      ) {
        throw new EdgelogError("INVALID_REQUEST", `a credit frame grants "records" and/or "bytes", non-negative integers`);
      }
      return { type: "credit", records: frame.records as number | undefined, bytes: frame.bytes as number | undefined };
    case "start":
      return {
        type: "start",
        partitions: parseStarts(frame.partitions),
        generation: frame.generation === undefined ? null : generationOf(frame.generation),
      };
    case "released":
      return { type: "released", generation: generationOf(frame.generation) };
    default:
      throw new EdgelogError(
        "INVALID_REQUEST",
        `unknown client frame type ${JSON.stringify(frame.type)}: use ping, credit, start or released`,
      );
  }
}

function generationOf(v: unknown): number {
  if (!count(v)) throw new EdgelogError("INVALID_REQUEST", `"generation" must be a non-negative integer`);
  return v as number;
}

function parseStarts(raw: unknown): StartRequest[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_START) {
    throw new EdgelogError("INVALID_REQUEST", `"partitions" must be a non-empty array of at most ${MAX_START} {topic, partition, offset?}`);
  }
  return raw.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    if (
      typeof e !== "object" ||
      e === null ||
      typeof e.topic !== "string" ||
      !count(e.partition) ||
      (e.offset !== undefined && e.offset !== null && !count(e.offset))
    ) {
      throw new EdgelogError("INVALID_REQUEST", `partitions[${i}] must be {topic: string, partition: integer >= 0, offset?: integer >= 0}`);
    }
    return { topic: e.topic, partition: e.partition as number, offset: (e.offset as number | null | undefined) ?? null };
  });
}

export function assignmentFrame(generation: number, assignment: AssignedPartition[], revoked: TopicPartition[]): string {
  return JSON.stringify({ type: "assignment", generation, assignment, revoked } satisfies AssignmentFrame);
}

/** A records frame (GroupRecordsFrame) from records already serialised one by one (their byte size is the credit they take). */
export function recordsFrame(
  tp: TopicPartition,
  generation: number,
  records: string[],
  positions: { nextOffset: number; highWatermark: number; bytes: number },
): string {
  return (
    `{"type":"records","topic":${JSON.stringify(tp.topic)},"partition":${tp.partition},"generation":${generation},` +
    `"records":[${records.join(",")}],"nextOffset":${positions.nextOffset},"highWatermark":${positions.highWatermark},"bytes":${positions.bytes}}`
  );
}

export function resetFrame(tp: TopicPartition, from: number, offset: number, error: EdgelogError): string {
  return JSON.stringify({ type: "reset", topic: tp.topic, partition: tp.partition, from, offset, ...error.toJSON() } satisfies ResetFrame);
}

export function errorFrame(error: EdgelogError): string {
  return JSON.stringify({ type: "error", ...error.toJSON() } satisfies ErrorFrame);
}

/** A close reason: JSON {"code"}, well under the 123 bytes a close reason may hold. */
export function closeReason(code: string): string {
  return JSON.stringify({ code } satisfies GroupCloseReason);
}
