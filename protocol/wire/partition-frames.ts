/**
 * The JSON frames of the partition socket (GET /v1/topics/{t}/partitions/{p}/subscribe), as
 * types: what worker/partition/push.ts sends and web-client/subscription.ts reads, and back.
 *
 * Server -> client (text frames, JSON objects; format=binary sends stored RecordBatch v2 bytes
 * as binary frames instead of records frames):
 *   {"records": [...], "nextOffset": n, "highWatermark": n}   records, the fetch shape
 *   {"type": "pong"}                                           answer to a ping
 *   {"type": "error", "error": {code, message, retriable}}     a client frame was refused
 * Client -> server:
 *   {"type": "ping"}
 *   {"type": "credit", "records"?: n, "bytes"?: n}   credit mode: grants more
 *   {"type": "ack", "offset": n}                    push mode: "I have what precedes n"
 */
import type { ErrorBody } from "../errors";
import type { JsonRecord } from "../json-record";

/** Records in offset order, with no gap and no duplicate. The only server frame without a `type`. */
export interface PartitionRecordsFrame {
  records: JsonRecord[];
  nextOffset: number;
  highWatermark: number;
}

export interface PongFrame {
  type: "pong";
}

/** A client frame (or part of one) was refused; the socket stays open. */
export interface ErrorFrame extends ErrorBody {
  type: "error";
}

export type PartitionServerFrame = PartitionRecordsFrame | PongFrame | ErrorFrame;

export type PingFrame = { type: "ping" };

/** Grants more (and switches a push-mode socket to credit); a dimension left out of the first grant is not limited. */
export type CreditFrame = { type: "credit"; records?: number; bytes?: number };

export type PartitionClientFrame = PingFrame | CreditFrame | { type: "ack"; offset: number };
