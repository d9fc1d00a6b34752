/**
 * The JSON frames of the group socket (GET /v1/groups/{g}/members/{m}/subscribe), as types:
 * what worker/session/ sends and web-client/group-subscription.ts reads, and back. The grammar,
 * and what each frame asks of the other side, is documented in worker/session/frames.ts.
 *
 * Server -> client: assignment, records, reset, pong, error. Client -> server: ping, credit,
 * start, released.
 */
import type { ErrorBody } from "../errors";
import type { JsonRecord } from "../json-record";
import type { TopicPartition } from "./keys";
import type { CreditFrame, ErrorFrame, PingFrame, PongFrame } from "./partition-frames";

/** A partition of an assignment frame, with the group's committed offset and the reset it belongs to. */
export interface AssignedPartition extends TopicPartition {
  committed: number | null;
  resetId: number | null;
}

/** First frame of every connection, and again whenever the generation or the assignment changes. */
export interface AssignmentFrame {
  type: "assignment";
  generation: number;
  assignment: AssignedPartition[];
  /** Taken away since the previous frame: commit, then send "released". */
  revoked: TopicPartition[];
}

/** Records of a started partition; `bytes` is what the frame took from the byte credit. */
export interface GroupRecordsFrame extends TopicPartition {
  type: "records";
  generation: number;
  records: JsonRecord[];
  nextOffset: number;
  highWatermark: number;
  bytes: number;
}

/** A partition's position was out of range: reading goes on from `offset`. */
export interface ResetFrame extends TopicPartition, ErrorBody {
  type: "reset";
  from: number;
  offset: number;
}

export type GroupServerFrame = AssignmentFrame | GroupRecordsFrame | ResetFrame | PongFrame | ErrorFrame;

/** A partition to read from `offset` (left out or null: the committed offset, else autoOffsetReset). */
export interface StartPartition extends TopicPartition {
  offset?: number | null;
}

export type StartFrame = { type: "start"; partitions: StartPartition[]; generation?: number };

/** The partitions generation `generation` revoked are committed: the group may hand them on. */
export type ReleasedFrame = { type: "released"; generation: number };

export type GroupClientFrame = PingFrame | CreditFrame | StartFrame | ReleasedFrame;
