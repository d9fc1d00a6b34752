/**
 * The WebSocket close codes edgelog's server sends, one name per number, for both of its sockets:
 *
 *   partition socket  GET /v1/topics/{t}/partitions/{p}/subscribe   (worker/partition/push.ts)
 *   group socket      GET /v1/groups/{g}/members/{m}/subscribe       (worker/session/frames.ts)
 *
 * Codes 4000-4999 are the application's own (RFC 6455 §7.4.2). Every close reason is JSON: {"code", "resumeOffset"} on the partition socket, {"code"} on the
 * group socket, `code` being the error code (protocol/errors.ts).
 *
 * The numbers are frozen: clients in the field branch on them (test/protocol/wire.test.ts).
 *
 * @example
 * socket.addEventListener("close", ({ code }) => {
 *   if (code === CLOSE_CODES.leaderMoved) reconnect(); // the new leader answers the same URL
 * });
 */
export const CLOSE_CODES = {
  /** Partition socket: the topic was deleted. The subscription ends. */
  topicDeleted: 4004,
  /** Partition socket: leadership moved to another replica; reconnect (the worker routes to the new leader) from resumeOffset. */
  leaderMoved: 4006,
  /** Partition socket: a push-mode subscriber fell too far behind (no ack); reconnect from resumeOffset, or use credit mode. */
  tooFarBehind: 4008,
  /** Group socket: another connection for the same member replaced this one. */
  replaced: 4009,
  /** Partition socket: retention removed the subscriber's offset; resumeOffset is the log start. */
  offsetOutOfRange: 4016,
  /** Group socket: UNKNOWN_MEMBER_ID, the member left, expired or never joined; join again. */
  unknownMember: 4025,
  /**
   * Both sockets: the credential it was opened with no longer allows it (a revoked key, an
   * expired token, a removed ACL); the reason's code says which. Reconnecting needs a new one.
   */
  accessRevoked: 4031,
  /** Group socket: FENCED_INSTANCE_ID, a newer member with the same instanceId replaced it. */
  fenced: 4082,
} as const;

/** The codes the partition socket closes with. */
export const PARTITION_SOCKET_CLOSE = {
  topicDeleted: CLOSE_CODES.topicDeleted,
  leaderMoved: CLOSE_CODES.leaderMoved,
  tooFarBehind: CLOSE_CODES.tooFarBehind,
  offsetOutOfRange: CLOSE_CODES.offsetOutOfRange,
  accessRevoked: CLOSE_CODES.accessRevoked,
} as const;

/**
 * The codes the group socket closes with. The partition socket's 4004/4008/4016 have no use
 * there: a deleted topic's partitions leave the assignment, credit is the only mode, and a
 * position out of range is a "reset" frame, not a close.
 */
export const GROUP_SOCKET_CLOSE = {
  replaced: CLOSE_CODES.replaced,
  unknownMember: CLOSE_CODES.unknownMember,
  fenced: CLOSE_CODES.fenced,
  accessRevoked: CLOSE_CODES.accessRevoked,
} as const;

/**
 * Never on the wire: the codes a client's subscription reports to its onEnd for reasons of its
 * own, chosen not to clash with the server's.
 */
export const CLIENT_END = {
  /** No connection opened after `maxFailedConnects` tries (a proxy refusing upgrades, the server down). */
  unreachable: 4999,
  /** A handler the client was given threw; onEnd carries its error (RFC 6455's "internal error"). */
  handlerFailed: 1011,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** The reason of a partition socket's close: the error code, and the offset to resume from. */
export interface PartitionCloseReason {
  code: string;
  resumeOffset: number;
}

/** The reason of a group socket's close: the error code. */
export interface GroupCloseReason {
  code: string;
}
