/**
 * The one table of edgelog's error codes.
 *
 * Each row names a Kafka error (same name, same numeric code as Kafka's protocol) and says what it
 * means over HTTP: the status, whether a retry may succeed, and a default message. The worker,
 * the clients and the README all read this table; nothing else decides a status code.
 *
 * Rule of the statuses: a 4xx answer means nothing was applied; a 5xx answer whose `retriable` is
 * true means the outcome is unknown and the request may be retried (produce retries are made safe
 * by producer ids and sequences, or by an idempotency key).
 */

export const ERROR_CODES = {
  UNKNOWN_SERVER_ERROR: { kafka: -1, status: 500, retriable: false, message: "The server experienced an unexpected error." },
  OFFSET_OUT_OF_RANGE: {
    kafka: 1,
    status: 400,
    retriable: false,
    message: "The requested offset is not within the range of offsets held by the partition.",
  },
  CORRUPT_MESSAGE: {
    kafka: 2,
    status: 400,
    retriable: false,
    message: "The record batch is corrupt: bad CRC, truncated, or lengths that do not add up.",
  },
  UNKNOWN_TOPIC_OR_PARTITION: { kafka: 3, status: 404, retriable: false, message: "This topic or partition does not exist." },
  INVALID_FETCH_SIZE: { kafka: 4, status: 400, retriable: false, message: "The requested fetch size is invalid." },
  LEADER_NOT_AVAILABLE: {
    kafka: 5,
    status: 503,
    retriable: true,
    message: "The partition has no reachable leader right now (an election is under way, or no in-sync replica is up).",
  },
  NOT_LEADER_OR_FOLLOWER: {
    kafka: 6,
    status: 503,
    retriable: true,
    message: "This replica is not the partition's leader (leadership moved): refresh metadata and retry.",
  },
  REQUEST_TIMED_OUT: {
    kafka: 7,
    status: 503,
    retriable: true,
    message: "The request timed out or its object was reset: the outcome is unknown.",
  },
  OFFSET_METADATA_TOO_LARGE: {
    kafka: 12,
    status: 400,
    retriable: false,
    message: "The commit's metadata is longer than 4,096 characters.",
  },
  MESSAGE_TOO_LARGE: {
    kafka: 10,
    status: 413,
    retriable: false,
    message: "The request included a batch larger than the topic's max.message.bytes.",
  },
  INVALID_TOPIC_EXCEPTION: {
    kafka: 17,
    status: 400,
    retriable: false,
    message: "The topic name is invalid: use [a-zA-Z0-9._-], at most 249 characters, not '.' or '..'.",
  },
  RECORD_LIST_TOO_LARGE: { kafka: 18, status: 413, retriable: false, message: "The request body is larger than the server accepts." },
  NOT_ENOUGH_REPLICAS: {
    kafka: 19,
    status: 503,
    retriable: true,
    message: "Fewer in-sync replicas than min.insync.replicas: the write was refused.",
  },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: {
    kafka: 20,
    status: 503,
    retriable: true,
    message:
      "The write reached the leader but the in-sync set shrank below min.insync.replicas before it was replicated: the outcome is unknown.",
  },
  INVALID_REQUIRED_ACKS: { kafka: 21, status: 400, retriable: false, message: "acks must be 0, 1 or all." },
  ILLEGAL_GENERATION: {
    kafka: 22,
    status: 409,
    retriable: false,
    message: "The generation is stale: heartbeat to learn the current one and your assignment.",
  },
  INCONSISTENT_GROUP_PROTOCOL: {
    kafka: 23,
    status: 409,
    retriable: false,
    message: "The member's assignor differs from the one its group uses.",
  },
  INVALID_GROUP_ID: {
    kafka: 24,
    status: 400,
    retriable: false,
    message: "The group id is invalid: use [a-zA-Z0-9._-], at most 249 characters.",
  },
  UNKNOWN_MEMBER_ID: {
    kafka: 25,
    status: 404,
    retriable: false,
    message: "This member is not in the group (it left, expired, or was replaced): join again.",
  },
  INVALID_SESSION_TIMEOUT: { kafka: 26, status: 400, retriable: false, message: "The session timeout is outside the allowed range." },
  REBALANCE_IN_PROGRESS: {
    kafka: 27,
    status: 409,
    retriable: false,
    message: "This partition is not assigned to this member: heartbeat to learn your assignment.",
  },
  TOPIC_AUTHORIZATION_FAILED: {
    kafka: 29,
    status: 403,
    retriable: false,
    message: "Not authorized for this operation on this topic (an unknown topic answers the same).",
  },
  GROUP_AUTHORIZATION_FAILED: { kafka: 30, status: 403, retriable: false, message: "Not authorized for this operation on this group." },
  CLUSTER_AUTHORIZATION_FAILED: { kafka: 31, status: 403, retriable: false, message: "Not authorized for this cluster operation." },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: {
    kafka: 53,
    status: 403,
    retriable: false,
    message: "Not authorized for this transactional id.",
  },
  POLICY_VIOLATION: {
    kafka: 44,
    status: 403,
    retriable: false,
    message: "The request does not satisfy the configured policy (e.g. a WebSocket from an origin not in EDGELOG_CORS_ORIGINS).",
  },
  RESOURCE_NOT_FOUND: { kafka: 91, status: 404, retriable: false, message: "The named resource (an API key, a quota) does not exist." },
  INVALID_TIMESTAMP: { kafka: 32, status: 400, retriable: false, message: "The timestamp is invalid." },
  TOPIC_ALREADY_EXISTS: { kafka: 36, status: 409, retriable: false, message: "A topic with this name already exists." },
  INVALID_PARTITIONS: { kafka: 37, status: 400, retriable: false, message: "The number of partitions is invalid." },
  INVALID_REPLICATION_FACTOR: { kafka: 38, status: 400, retriable: false, message: "The replication factor is invalid." },
  INVALID_REQUEST: { kafka: 42, status: 400, retriable: false, message: "The request is malformed." },
  UNSUPPORTED_FOR_MESSAGE_FORMAT: {
    kafka: 43,
    status: 400,
    retriable: false,
    message: "The record batch format (magic) is not supported: edgelog stores RecordBatch v2.",
  },
  OUT_OF_ORDER_SEQUENCE_NUMBER: {
    kafka: 45,
    status: 409,
    retriable: false,
    message: "The producer's sequence number is out of order: a batch is missing before this one.",
  },
  INVALID_CONFIG: { kafka: 40, status: 400, retriable: false, message: "The configuration is invalid." },
  SASL_AUTHENTICATION_FAILED: {
    kafka: 58,
    status: 401,
    retriable: false,
    message: "Authentication failed: send Authorization: Bearer <token>.",
  },
  NON_EMPTY_GROUP: {
    kafka: 68,
    status: 409,
    retriable: false,
    message: "The group has members: only an empty group's offsets can be reset, or the group deleted.",
  },
  FENCED_INSTANCE_ID: { kafka: 82, status: 409, retriable: false, message: "A newer member with this instance id replaced this one." },
  INVALID_RECORD: { kafka: 87, status: 400, retriable: false, message: "A record is invalid." },
  PRODUCER_FENCED: { kafka: 90, status: 409, retriable: false, message: "A newer epoch of this producer exists: this one is fenced." },
  INVALID_PRODUCER_EPOCH: {
    kafka: 47,
    status: 409,
    retriable: false,
    message: "The producer epoch was never issued for this transactional id.",
  },
  INVALID_TXN_STATE: { kafka: 48, status: 409, retriable: false, message: "The transaction is not in a state that allows this." },
  INVALID_PRODUCER_ID_MAPPING: {
    kafka: 49,
    status: 409,
    retriable: false,
    message: "The transactional id has no such producer: initialize it with POST /v1/producers.",
  },
  CONCURRENT_TRANSACTIONS: { kafka: 51, status: 409, retriable: true, message: "The previous transaction is still ending: retry." },
  FENCED_LEADER_EPOCH: {
    kafka: 74,
    status: 503,
    retriable: true,
    message: "The request carried a leader epoch older than the replica's: a newer leader exists; refresh metadata and retry.",
  },
  UNKNOWN_LEADER_EPOCH: {
    kafka: 75,
    status: 503,
    retriable: true,
    message: "The request carried a leader epoch newer than the replica knows: it has not heard of the election yet; retry.",
  },
  UNSUPPORTED_ASSIGNOR: { kafka: 112, status: 400, retriable: false, message: "Unknown assignor: use range, roundrobin or sticky." },
  THROTTLING_QUOTA_EXCEEDED: {
    kafka: 89,
    status: 429,
    retriable: true,
    message: "A quota is exceeded or the server is overloaded: retry after throttleTimeMs (Retry-After).",
  },
  UNSUPPORTED_VERSION: { kafka: 35, status: 404, retriable: false, message: "No such route: see /v1/openapi.json." },
} as const satisfies Record<string, { kafka: number; status: number; retriable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; retriable: boolean };
  /** THROTTLING_QUOTA_EXCEEDED: how long to wait before the next request (Kafka's throttle_time_ms). */
  throttleTimeMs?: number;
}

/**
 * The one error type of edgelog. Carries a code from {@link ERROR_CODES}; status and
 * retriability come from the table, never from the throw site.
 *
 * @example
 * throw new EdgelogError("CORRUPT_MESSAGE", "CRC-32C mismatch: stored 0x1234, computed 0x5678");
 */
export class EdgelogError extends Error {
  readonly code: ErrorCode;
  /** THROTTLING_QUOTA_EXCEEDED: how long the client should wait (answered as throttleTimeMs and Retry-After). */
  readonly throttleTimeMs?: number;
  constructor(code: ErrorCode, message?: string, throttleTimeMs?: number) {
    super(message ?? ERROR_CODES[code].message);
    this.name = "EdgelogError";
    this.code = code;
    if (throttleTimeMs !== undefined) this.throttleTimeMs = throttleTimeMs;
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
  get retriable(): boolean {
    return ERROR_CODES[this.code].retriable;
  }
  toJSON(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message, retriable: this.retriable } };
    if (this.throttleTimeMs !== undefined) body.throttleTimeMs = this.throttleTimeMs;
    return body;
  }
  /** Rebuilds an error from its JSON body (as clients and RPC callers receive it). */
  static fromBody(body: ErrorBody): EdgelogError {
    const code = body.error.code in ERROR_CODES ? body.error.code : "UNKNOWN_SERVER_ERROR";
    return new EdgelogError(code, body.error.message, typeof body.throttleTimeMs === "number" ? body.throttleTimeMs : undefined);
  }
}

/** True when `code` names a row of the table. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}
