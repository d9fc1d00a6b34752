/**
 * The wire vocabulary, declared once and imported by the worker and the clients alike:
 *
 *   close-codes.ts       WebSocket close codes of the partition and group sockets (and the client's own end codes)
 *   partition-frames.ts  the partition socket's JSON frames, each way
 *   group-frames.ts      the group socket's JSON frames, each way
 *   http.ts              media types and header names
 *   keys.ts              the topic-partition key of maps and stores
 *
 * Runtime-free: constants and types only (test/protocol/runtime-free.test.ts); the numbers and
 * strings are frozen by test/protocol/wire.test.ts.
 *
 * @example
 * import { CLOSE_CODES, HEADERS, topicPartitionKey } from "../protocol/wire";
 */
export { CLIENT_END, CLOSE_CODES, GROUP_SOCKET_CLOSE, PARTITION_SOCKET_CLOSE } from "./close-codes";
export type { CloseCode, GroupCloseReason, PartitionCloseReason } from "./close-codes";
export { HEADERS, MEDIA_TYPES, RECORD_BATCH_MEDIA_TYPE } from "./http";
export { topicPartitionKey, tpKey } from "./keys";
export type { TopicPartition } from "./keys";
export type {
  CreditFrame,
  ErrorFrame,
  PartitionClientFrame,
  PartitionRecordsFrame,
  PartitionServerFrame,
  PingFrame,
  PongFrame,
} from "./partition-frames";
export type {
  AssignedPartition,
  AssignmentFrame,
  GroupClientFrame,
  GroupRecordsFrame,
  GroupServerFrame,
  ReleasedFrame,
  ResetFrame,
  StartFrame,
  StartPartition,
} from "./group-frames";
