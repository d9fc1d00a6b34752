/**
 * The access matrix, inside workerd with auth on: every documented route (protocol/api/) and both
 * WebSockets, against every way a request can be refused or allowed.
 *
 * ROWS is one row per route: its request, what it needs (as worker/api/routes/*.ts declares it:
 * an entry is allowed when one of its needs is), and a state probe that reads, as the superuser,
 * what the route would change. CASES derives the columns from a row:
 *
 *   - every bad credential (none, malformed, wrong, a JWT that is badly signed, expired, not yet
 *     valid, without exp or for another audience, a revoked key, ?access_token= off an upgrade)
 *     -> 401 SASL_AUTHENTICATION_FAILED, the credential nowhere in the answer, nothing changed
 *   - a principal with no ACLs -> 403 with Kafka's code for the resource, nothing changed
 *   - exactly the needed operations (each alternative; each operation that implies one) -> allowed;
 *     every operation but a needed one -> 403
 *   - a deny of a needed operation over an allow of All -> 403
 *   - a prefixed pattern that covers the name -> allowed; one that does not, or a literal
 *     pattern of the prefix -> 403
 *   - another principal's ACLs -> 403; a JWT of the principal -> allowed; a JWT whose acl claim
 *     leaves the need out -> 403
 *   - an unknown topic and an existing denied one -> the same status and body
 *
 * A "filtered" route (the lists) answers 200 and leaves out what the principal may not Describe
 * instead of refusing; an "open" one (the OpenAPI document) only needs a principal.
 *
 * After the table: the two WebSockets at upgrade time (?access_token=, accepted there only),
 * open sockets after a revocation, internal topics (__audit) for superusers only, privileges a
 * principal cannot give itself, User:*, what lists and descriptions leave out, refusals in
 * __audit, and (last) that no secret or token appeared in a log line or an __audit record.
 *
 * Every call goes through the worker's fetch handler in this isolate, so the Access state each
 * change drops (worker/access/snapshot.ts) is fresh for the next call: a test grants and uses the
 * grant at once. Every case has its own principal, so cases are independent; each row shares one
 * topic/group set-up, except where the route destroys what it acts on.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as declared from "../../protocol/api";
import { CLUSTER_RESOURCE, OPERATIONS, type Operation, type ResourceType } from "../../protocol/api/access";
import type { ApiRoute } from "../../protocol/api/schema";
import { ERROR_CODES, type ErrorCode } from "../../protocol/errors";
import { encodeBatch } from "../../protocol/record-batch";
import { CLOSE_CODES, RECORD_BATCH_MEDIA_TYPE } from "../../protocol/wire";
import { ACCESS_STALENESS_MS, SOCKET_RECHECK_MS } from "../../worker/access/snapshot";
import { controller } from "../../worker/cluster/metadata";
import { replicaStub } from "../../worker/controller/placement";
import worker from "../../worker/index";
import { BASE, uniqueTopic } from "./helpers";

const TOKEN = "matrix-root-s3cret-token";
const JWT_SECRET = "matrix-jwt-s3cret-of-32-bytes!!!";
const AUDIENCE = "edgelog-matrix";
/** A second superuser, besides EDGELOG_TOKEN's User:admin. */
const OPS = "User:mx-ops";
const authEnv = { ...env, EDGELOG_TOKEN: TOKEN, EDGELOG_JWT_SECRET: JWT_SECRET, EDGELOG_JWT_AUDIENCE: AUDIENCE, EDGELOG_SUPERUSERS: OPS };

/** Every secret and token this file makes: none may appear in an answer's error, a log line or __audit. */
const SECRETS = new Set<string>([TOKEN, JWT_SECRET]);

// ---------------------------------------------------------------------------------------------
// Calling the worker

interface Req {
  method: string;
  path: string;
  json?: unknown;
  bytes?: Uint8Array;
  upgrade?: boolean;
}
/** A credential: an Authorization header value and/or ?access_token=. */
interface Cred {
  authorization?: string;
  accessToken?: string;
  /** What must not appear in the answer. */
  secret?: string;
}
interface Answer {
  status: number;
  text: string;
  body: any;
  /** A 101's socket (kept open with `keep`), and the frames it has received. */
  ws?: WebSocket;
  frames?: any[];
}

const bearer = (secret: string): Cred => ({ authorization: `Bearer ${secret}`, secret });
const ADMIN = bearer(TOKEN);

/** Sends `req` with `cred` through the worker's fetch handler; a 101's socket is closed unless `keep`. */
async function send(req: Req, cred: Cred = {}, keep = false): Promise<Answer> {
  const headers = new Headers();
  if (cred.authorization !== undefined) headers.set("authorization", cred.authorization);
  if (req.upgrade) headers.set("upgrade", "websocket");
  let body: BodyInit | undefined;
  if (req.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(req.json);
  } else if (req.bytes) {
    headers.set("content-type", RECORD_BATCH_MEDIA_TYPE);
    body = req.bytes.slice();
  }
  const url = new URL(`${BASE}${req.path}`);
  if (cred.accessToken !== undefined) url.searchParams.set("access_token", cred.accessToken);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { method: req.method, headers, body }), authEnv, ctx);
  await waitOnExecutionContext(ctx);
  if (res.status === 101) {
    const ws = res.webSocket!;
    const frames: any[] = [];
    ws.addEventListener("message", (e) => {
      frames.push(typeof e.data === "string" ? JSON.parse(e.data) : e.data);
    });
    ws.accept();
    if (!keep) ws.close(1000, "matrix");
    return { status: 101, text: "", body: null, ws, frames };
  }
  // Binary answers (record batches) are read as text too, to look for secrets in them.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  const parsed = res.headers.get("content-type")?.includes("application/json") ? JSON.parse(text) : null;
  return { status: res.status, text, body: parsed };
}

/** A superuser call that must answer `status`; answers the body. */
async function admin(method: string, path: string, json?: unknown, status = 200): Promise<any> {
  const a = await send({ method, path, json }, ADMIN);
  expect(a.status, `${method} ${path}: ${a.text}`).toBe(status);
  return a.body;
}

let counter = 0;
const seq = () => ++counter;
const unique = (what: string) => uniqueTopic(`mx-${what}`);
const newPrincipal = () => `User:${unique("p")}`;

async function mintKey(principal: string): Promise<{ secret: string; keyId: string }> {
  const key = await admin("POST", "/v1/admin/keys", { principal }, 201);
  SECRETS.add(key.secret);
  return { secret: key.secret, keyId: key.keyId };
}

const nowS = () => Math.floor(Date.now() / 1000);

/** An HS256 token for `principal` (exp in 10 minutes unless `claims` says otherwise). */
async function jwtFor(principal: string, claims: Record<string, unknown> = {}, secret = JWT_SECRET): Promise<string> {
  const payload: Record<string, unknown> = { sub: principal.slice("User:".length), aud: AUDIENCE, exp: nowS() + 600, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const token = await sign(payload as Parameters<typeof sign>[0], secret);
  SECRETS.add(token);
  return token;
}

// ---------------------------------------------------------------------------------------------
// ACLs and needs

interface Binding {
  principal: string;
  resourceType: ResourceType;
  resourceName: string;
  patternType?: "literal" | "prefixed";
  operation: Operation;
  permission?: "allow" | "deny";
}

async function addAcls(bindings: readonly Binding[]): Promise<void> {
  await Promise.all(bindings.map((b) => admin("POST", "/v1/admin/acls", b, 201)));
}

type Fx = Record<string, any>;

/** One thing a route needs: an operation on a resource named from the fixture. */
interface Need {
  type: ResourceType;
  op: Operation;
  of: (fx: Fx) => string;
  /** "Write on some topic" (Kafka 3's idempotent producer): any topic name will do. */
  anyName?: boolean;
}
/** One entry of a route's needs: allowed when one of `anyOf` is; refused with `code`. */
interface Entry {
  anyOf: Need[];
  code: ErrorCode;
}

const onTopic = (op: Operation, of: (fx: Fx) => string = (fx) => fx.topic): Need => ({ type: "topic", op, of });
const onGroup = (op: Operation, of: (fx: Fx) => string = (fx) => fx.group): Need => ({ type: "group", op, of });
const onCluster = (op: Operation): Need => ({ type: "cluster", op, of: () => CLUSTER_RESOURCE });
const onTxn = (op: Operation): Need => ({ type: "transactionalId", op, of: (fx) => fx.txn });
const entry = (code: ErrorCode, ...anyOf: Need[]): Entry => ({ anyOf, code });

const TOPIC_DENIED: ErrorCode = "TOPIC_AUTHORIZATION_FAILED";
const GROUP_DENIED: ErrorCode = "GROUP_AUTHORIZATION_FAILED";
const CLUSTER_DENIED: ErrorCode = "CLUSTER_AUTHORIZATION_FAILED";
const TXN_DENIED: ErrorCode = "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";

/** Kafka's implied operations: Describe by Read, Write, Delete and Alter; DescribeConfigs by AlterConfigs. */
const IMPLIED_BY: Partial<Record<Operation, Operation[]>> = {
  Describe: ["Read", "Write", "Delete", "Alter"],
  DescribeConfigs: ["AlterConfigs"],
};
const grantsOp = (bound: Operation, op: Operation) => bound === op || bound === "All" || (IMPLIED_BY[op]?.includes(bound) ?? false);
/** Every operation that does not allow `op`. */
const allBut = (op: Operation) => OPERATIONS.filter((o) => !grantsOp(o, op));

const label = (n: Need) => `${n.op} on the ${n.type === "transactionalId" ? "transactional id" : n.type}`;

/** A prefix of a name that covers it; and one that does not (the last character changed). */
const prefixOf = (name: string) => name.slice(0, -3);
const nearMiss = (name: string) => prefixOf(name).slice(0, -1) + (prefixOf(name).endsWith("z") ? "y" : "z");

function bind(principal: string, need: Need, fx: Fx, extra: Partial<Binding> = {}): Binding {
  return { principal, resourceType: need.type, resourceName: need.of(fx), operation: need.op, ...extra };
}

// ---------------------------------------------------------------------------------------------
// State probes (as the superuser)

async function topicState(name: string) {
  const a = await send({ method: "GET", path: `/v1/topics/${name}` }, ADMIN);
  return { status: a.status, body: a.body };
}
async function topicNames(): Promise<string[]> {
  return (await admin("GET", "/v1/topics")).topics.map((t: { name: string }) => t.name).sort();
}
async function groupState(group: string) {
  const described = await send({ method: "GET", path: `/v1/groups/${group}` }, ADMIN);
  const offsets = await admin("GET", `/v1/groups/${group}/offsets`);
  const listed = (await admin("GET", "/v1/groups")).groups.some((g: { group: string }) => g.group === group);
  return { described: described.body, offsets, listed };
}
async function groupNames(): Promise<string[]> {
  return (await admin("GET", "/v1/groups")).groups.map((g: { group: string }) => g.group).sort();
}
async function keys(where: (k: { keyId: string; principal: string }) => boolean = () => true) {
  return (await admin("GET", "/v1/admin/keys")).keys.filter(where);
}
async function aclsOf(principal: string) {
  return (await admin("GET", `/v1/admin/acls?principal=${encodeURIComponent(principal)}`)).acls;
}
async function quotas(entity?: string) {
  return (await admin("GET", "/v1/admin/quotas")).quotas.filter((q: { entity: string }) => entity === undefined || q.entity === entity);
}
async function producerState(transactionalId?: string) {
  const registry = await runInDurableObject(controller(env), (_instance, state) => ({
    counter: state.storage.sql.exec("SELECT value FROM counters WHERE name = 'producer_id'").toArray(),
    transactional:
      transactionalId === undefined
        ? null
        : state.storage.sql.exec("SELECT * FROM producer_ids WHERE transactional_id = ?", transactionalId).toArray(),
  }));
  // A transactional id's epochs live in its coordinator once it has one.
  const coordinator = transactionalId === undefined ? null : await env.TXN.get(env.TXN.idFromName(transactionalId)).describe();
  return { ...registry, coordinator };
}
async function faultState(fx: Fx) {
  return runInDurableObject(replicaStub(env, fx.topicId, 0, fx.replica), (_instance, state) => state.storage.get("fault"));
}

// ---------------------------------------------------------------------------------------------
// Fixtures

let batch: Uint8Array;

/** A topic with three records in partition 0. */
async function topicWithRecords(tag: string): Promise<Fx> {
  const topic = unique(tag);
  const d = await admin("POST", "/v1/topics", { name: topic, partitions: 1 }, 201);
  await admin("POST", `/v1/topics/${topic}/records`, { records: ["a", "b", "c"].map((value) => ({ value, partition: 0 })) });
  return { topic, topicId: d.topicId, replica: d.partitions[0].replicas[0] };
}

/** A transactional id with a producer (initialized by the superuser), beside `shared`'s topic. */
async function transactional(shared: Fx): Promise<Fx> {
  const txn = unique("txn");
  const producer = await admin("POST", "/v1/producers", { transactionalId: txn });
  return { ...shared, txn, producer };
}

async function coordinatorState(txn: string) {
  return env.TXN.get(env.TXN.idFromName(txn)).describe();
}

/** A group with one member (joined as the superuser, with the longest session) on `topic`. */
async function groupWithMember(topic: string): Promise<Fx> {
  const group = unique("g");
  const m = await admin("POST", `/v1/groups/${group}/members`, { topics: [topic], sessionTimeoutMs: 1_800_000 });
  const beat = await admin("POST", `/v1/groups/${group}/members/${m.memberId}/heartbeat`);
  return { group, member: m.memberId, generation: beat.generation };
}

/** An empty group with committed offsets for `topic` (a reset by the superuser). */
async function groupWithOffsets(topic: string): Promise<string> {
  const group = unique("g");
  await admin("POST", `/v1/groups/${group}/offsets/reset`, { topics: [topic], to: { offset: 1 } });
  return group;
}

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
  route: ApiRoute;
  variant?: string;
  /** guarded: refuses with 403; filtered: answers 200 without what may not be Described; open: any principal. */
  kind: "guarded" | "filtered" | "open";
  /** Set up once per row. */
  shared?: () => Promise<Fx>;
  /** Set up per case (fresh resources for routes that destroy or create them). */
  target?: (shared: Fx) => Promise<Fx>;
  needs: Entry[];
  request: (fx: Fx) => Req | Promise<Req>;
  ok: number;
  /** What the route would change, read as the superuser. */
  probe: (fx: Fx) => Promise<unknown>;
  /** A success changes what `probe` reads. */
  mutates?: boolean;
  /** For filtered rows: whether the answer shows the fixture's resource. */
  visible?: (body: any, fx: Fx) => boolean;
  /** The request names fx.topic, which an unknown topic's name can replace. */
  topicNamed?: boolean;
}

const titleOf = (row: Row) => `${row.route.method.toUpperCase()} ${row.route.path}${row.variant ? ` (${row.variant})` : ""}`;

const ROWS: Row[] = [
  // Topics (worker/api/routes/topics.ts)
  {
    route: declared.topics.createTopic,
    kind: "guarded",
    target: async () => ({ topic: unique("new") }),
    needs: [entry(TOPIC_DENIED, onTopic("Create"), onCluster("Create"))],
    request: (fx) => ({ method: "POST", path: "/v1/topics", json: { name: fx.topic } }),
    ok: 201,
    probe: (fx) => topicState(fx.topic),
    mutates: true,
  },
  {
    route: declared.topics.listTopics,
    kind: "filtered",
    shared: () => topicWithRecords("list"),
    needs: [entry(TOPIC_DENIED, onTopic("Describe"))],
    request: () => ({ method: "GET", path: "/v1/topics" }),
    ok: 200,
    probe: () => topicNames(),
    visible: (body, fx) => body.topics.some((t: { name: string }) => t.name === fx.topic),
  },
  {
    route: declared.topics.describeTopic,
    kind: "guarded",
    shared: () => topicWithRecords("describe"),
    needs: [entry(TOPIC_DENIED, onTopic("Describe"))],
    request: (fx) => ({ method: "GET", path: `/v1/topics/${fx.topic}` }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    topicNamed: true,
  },
  {
    route: declared.topics.deleteTopic,
    kind: "guarded",
    target: () => topicWithRecords("doomed"),
    needs: [entry(TOPIC_DENIED, onTopic("Delete"))],
    request: (fx) => ({ method: "DELETE", path: `/v1/topics/${fx.topic}` }),
    ok: 200,
    probe: async (fx) => ({ topic: await topicState(fx.topic), names: await topicNames() }),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.topics.growTopic,
    kind: "guarded",
    shared: () => topicWithRecords("grow"),
    needs: [entry(TOPIC_DENIED, onTopic("Alter"))],
    request: async (fx) => {
      const d = await topicState(fx.topic);
      return { method: "POST", path: `/v1/topics/${fx.topic}/partitions`, json: { count: (d.body?.partitions?.length ?? 1) + 1 } };
    },
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.topics.alterTopicConfig,
    kind: "guarded",
    shared: () => topicWithRecords("config"),
    needs: [entry(TOPIC_DENIED, onTopic("AlterConfigs"))],
    request: (fx) => ({
      method: "PATCH",
      path: `/v1/topics/${fx.topic}/config`,
      json: { config: { "retention.ms": 86_400_000 + seq() * 1000 } },
    }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    mutates: true,
    topicNamed: true,
  },
  // Transactions (worker/api/routes/transactions.ts): each case gets a producer of its own.
  {
    route: declared.transactions.addPartitions,
    kind: "guarded",
    shared: () => topicWithRecords("txparts"),
    target: (shared) => transactional(shared),
    needs: [entry(TXN_DENIED, onTxn("Write")), entry(TOPIC_DENIED, onTopic("Write"))],
    request: (fx) => ({
      method: "POST",
      path: `/v1/transactions/${fx.txn}/partitions`,
      json: { ...fx.producer, partitions: [{ topic: fx.topic, partition: 0 }] },
    }),
    ok: 200,
    probe: (fx) => coordinatorState(fx.txn),
    mutates: true,
  },
  {
    route: declared.transactions.addOffsets,
    kind: "guarded",
    shared: async () => ({ ...(await topicWithRecords("txoffsets")), group: unique("g") }),
    target: (shared) => transactional(shared),
    needs: [entry(TXN_DENIED, onTxn("Write")), entry(GROUP_DENIED, onGroup("Read"))],
    request: (fx) => ({
      method: "POST",
      path: `/v1/transactions/${fx.txn}/offsets`,
      json: { ...fx.producer, groupId: fx.group, offsets: [{ topic: fx.topic, partition: 0, offset: 1 }] },
    }),
    ok: 200,
    probe: (fx) => coordinatorState(fx.txn),
    mutates: true,
  },
  ...(["commit", "abort"] as const).map((outcome) => ({
    route: outcome === "commit" ? declared.transactions.commitTransaction : declared.transactions.abortTransaction,
    kind: "guarded" as const,
    shared: () => topicWithRecords(`tx${outcome}`),
    target: async (shared: Fx) => {
      const fx = await transactional(shared);
      await admin("POST", `/v1/transactions/${fx.txn}/partitions`, { ...fx.producer, partitions: [{ topic: fx.topic, partition: 0 }] });
      return fx;
    },
    needs: [entry(TXN_DENIED, onTxn("Write"))],
    request: (fx: Fx) => ({ method: "POST", path: `/v1/transactions/${fx.txn}/${outcome}`, json: fx.producer }),
    ok: 200,
    probe: (fx: Fx) => coordinatorState(fx.txn),
    mutates: true,
  })),
  // Records (worker/api/routes/records.ts)
  {
    route: declared.records.produceRecords,
    kind: "guarded",
    shared: () => topicWithRecords("produce"),
    needs: [entry(TOPIC_DENIED, onTopic("Write"))],
    request: (fx) => ({ method: "POST", path: `/v1/topics/${fx.topic}/records`, json: { records: [{ value: "m", partition: 0 }] } }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.records.fetchRecords,
    kind: "guarded",
    shared: () => topicWithRecords("fetch"),
    needs: [entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({ method: "GET", path: `/v1/topics/${fx.topic}/partitions/0/records?offset=0` }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    topicNamed: true,
  },
  {
    route: declared.records.produceBatches,
    kind: "guarded",
    shared: () => topicWithRecords("batches"),
    needs: [entry(TOPIC_DENIED, onTopic("Write"))],
    request: (fx) => ({ method: "POST", path: `/v1/topics/${fx.topic}/partitions/0/batches`, bytes: batch }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.records.fetchBatches,
    kind: "guarded",
    shared: () => topicWithRecords("fetch-bin"),
    needs: [entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({ method: "GET", path: `/v1/topics/${fx.topic}/partitions/0/batches?offset=0` }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    topicNamed: true,
  },
  {
    route: declared.records.listOffsets,
    kind: "guarded",
    shared: () => topicWithRecords("offsets"),
    needs: [entry(TOPIC_DENIED, onTopic("Describe"))],
    request: (fx) => ({ method: "GET", path: `/v1/topics/${fx.topic}/partitions/0/offsets?timestamp=latest` }),
    ok: 200,
    probe: (fx) => topicState(fx.topic),
    topicNamed: true,
  },
  {
    route: declared.records.subscribePartition,
    kind: "guarded",
    shared: () => topicWithRecords("push"),
    needs: [entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({ method: "GET", path: `/v1/topics/${fx.topic}/partitions/0/subscribe?offset=0`, upgrade: true }),
    ok: 101,
    probe: (fx) => topicState(fx.topic),
    topicNamed: true,
  },
  // Groups (worker/api/routes/groups.ts)
  {
    route: declared.groups.joinGroup,
    kind: "guarded",
    shared: () => topicWithRecords("join"),
    target: async (s) => ({ ...s, group: unique("g") }),
    needs: [entry(GROUP_DENIED, onGroup("Read")), entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({
      method: "POST",
      path: `/v1/groups/${fx.group}/members`,
      json: { topics: [fx.topic], sessionTimeoutMs: 1_800_000 },
    }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.groups.heartbeat,
    kind: "guarded",
    shared: async () => {
      const t = await topicWithRecords("beat");
      return { ...t, ...(await groupWithMember(t.topic)) };
    },
    needs: [entry(GROUP_DENIED, onGroup("Read"))],
    request: (fx) => ({ method: "POST", path: `/v1/groups/${fx.group}/members/${fx.member}/heartbeat` }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
  },
  {
    route: declared.groups.leaveGroup,
    kind: "guarded",
    shared: () => topicWithRecords("leave"),
    target: async (s) => ({ ...s, ...(await groupWithMember(s.topic)) }),
    needs: [entry(GROUP_DENIED, onGroup("Read"))],
    request: (fx) => ({ method: "DELETE", path: `/v1/groups/${fx.group}/members/${fx.member}` }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
    mutates: true,
  },
  {
    route: declared.groups.subscribeGroup,
    kind: "guarded",
    shared: () => topicWithRecords("gsub"),
    target: async (s) => ({ ...s, ...(await groupWithMember(s.topic)) }),
    // "Consumer groups need Read on the group and on each topic": the socket streams the member's topics.
    needs: [entry(GROUP_DENIED, onGroup("Read")), entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({ method: "GET", path: `/v1/groups/${fx.group}/members/${fx.member}/subscribe`, upgrade: true }),
    ok: 101,
    probe: (fx) => groupState(fx.group),
  },
  {
    route: declared.groups.commitOffsets,
    kind: "guarded",
    shared: async () => {
      const t = await topicWithRecords("commit");
      return { ...t, ...(await groupWithMember(t.topic)) };
    },
    needs: [entry(GROUP_DENIED, onGroup("Read")), entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({
      method: "POST",
      path: `/v1/groups/${fx.group}/offsets`,
      json: { memberId: fx.member, generation: fx.generation, offsets: [{ topic: fx.topic, partition: 0, offset: seq() }] },
    }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.groups.committedOffsets,
    kind: "guarded",
    shared: async () => {
      const t = await topicWithRecords("committed");
      return { ...t, group: await groupWithOffsets(t.topic) };
    },
    needs: [entry(GROUP_DENIED, onGroup("Describe"))],
    request: (fx) => ({ method: "GET", path: `/v1/groups/${fx.group}/offsets` }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
  },
  {
    route: declared.groups.resetOffsets,
    variant: "named topics",
    kind: "guarded",
    shared: async () => {
      const t = await topicWithRecords("reset");
      return { ...t, group: unique("g") };
    },
    needs: [entry(GROUP_DENIED, onGroup("Read")), entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({
      method: "POST",
      path: `/v1/groups/${fx.group}/offsets/reset`,
      json: { topics: [fx.topic], to: { offset: seq() % 4 } },
    }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
    mutates: true,
    topicNamed: true,
  },
  {
    route: declared.groups.resetOffsets,
    variant: "every topic of the group",
    kind: "guarded",
    shared: async () => {
      const t = await topicWithRecords("reset-all");
      return { ...t, group: await groupWithOffsets(t.topic) };
    },
    needs: [entry(GROUP_DENIED, onGroup("Read")), entry(TOPIC_DENIED, onTopic("Read"))],
    request: (fx) => ({ method: "POST", path: `/v1/groups/${fx.group}/offsets/reset`, json: { to: "earliest" } }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
    mutates: true,
  },
  {
    route: declared.groups.describeGroup,
    kind: "guarded",
    shared: async () => {
      const t = await topicWithRecords("gdescribe");
      return { ...t, ...(await groupWithMember(t.topic)) };
    },
    needs: [entry(GROUP_DENIED, onGroup("Describe"))],
    request: (fx) => ({ method: "GET", path: `/v1/groups/${fx.group}` }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
  },
  {
    route: declared.groups.listGroups,
    kind: "filtered",
    shared: async () => {
      const t = await topicWithRecords("glist");
      return { ...t, group: await groupWithOffsets(t.topic) };
    },
    needs: [entry(GROUP_DENIED, onGroup("Describe"), onCluster("Describe"))],
    request: () => ({ method: "GET", path: "/v1/groups" }),
    ok: 200,
    probe: () => groupNames(),
    visible: (body, fx) => body.groups.some((g: { group: string }) => g.group === fx.group),
  },
  {
    route: declared.groups.deleteGroup,
    kind: "guarded",
    shared: () => topicWithRecords("gdelete"),
    target: async (s) => ({ ...s, group: await groupWithOffsets(s.topic) }),
    needs: [entry(GROUP_DENIED, onGroup("Delete"))],
    request: (fx) => ({ method: "DELETE", path: `/v1/groups/${fx.group}` }),
    ok: 200,
    probe: (fx) => groupState(fx.group),
    mutates: true,
  },
  // Producers, faults, the document (worker/api/routes/admin.ts)
  {
    route: declared.admin.initProducer,
    variant: "idempotent",
    kind: "guarded",
    shared: () => topicWithRecords("idem"),
    // As Kafka 3: IdempotentWrite on the cluster, or Write on some topic.
    needs: [entry(CLUSTER_DENIED, onCluster("IdempotentWrite"), { ...onTopic("Write"), anyName: true })],
    request: () => ({ method: "POST", path: "/v1/producers", json: {} }),
    ok: 200,
    probe: () => producerState(),
    mutates: true,
  },
  {
    route: declared.admin.initProducer,
    variant: "transactional",
    kind: "guarded",
    shared: async () => ({ txn: unique("txn") }),
    needs: [entry(TXN_DENIED, onTxn("Write"))],
    request: (fx) => ({ method: "POST", path: "/v1/producers", json: { transactionalId: fx.txn } }),
    ok: 200,
    probe: (fx) => producerState(fx.txn),
    mutates: true,
  },
  {
    route: declared.admin.injectFault,
    kind: "guarded",
    shared: async () => ({ ...(await topicWithRecords("fault")), delay: 0 }),
    needs: [entry(CLUSTER_DENIED, onCluster("Alter"))],
    request: (fx) => ({
      method: "POST",
      path: "/v1/admin/faults",
      json: { topic: fx.topic, partition: 0, replica: fx.replica, fault: "slow", delayMs: ++fx.delay },
    }),
    ok: 200,
    probe: (fx) => faultState(fx),
    mutates: true,
  },
  {
    route: declared.admin.openapiDocument,
    kind: "open",
    needs: [],
    request: () => ({ method: "GET", path: "/v1/openapi.json" }),
    ok: 200,
    probe: async () => null,
  },
  // Keys, ACLs, quotas (worker/api/routes/access.ts)
  {
    route: declared.access.createKey,
    kind: "guarded",
    target: async () => ({ target: newPrincipal() }),
    needs: [entry(CLUSTER_DENIED, onCluster("Alter"))],
    request: (fx) => ({ method: "POST", path: "/v1/admin/keys", json: { principal: fx.target } }),
    ok: 201,
    probe: (fx) => keys((k) => k.principal === fx.target),
    mutates: true,
  },
  {
    route: declared.access.listKeys,
    kind: "guarded",
    needs: [entry(CLUSTER_DENIED, onCluster("Describe"))],
    request: () => ({ method: "GET", path: "/v1/admin/keys" }),
    ok: 200,
    probe: () => keys(),
  },
  {
    route: declared.access.revokeKey,
    kind: "guarded",
    target: async () => ({ victim: (await mintKey(newPrincipal())).keyId }),
    needs: [entry(CLUSTER_DENIED, onCluster("Alter"))],
    request: (fx) => ({ method: "DELETE", path: `/v1/admin/keys/${fx.victim}` }),
    ok: 200,
    probe: (fx) => keys((k) => k.keyId === fx.victim),
    mutates: true,
  },
  {
    route: declared.access.createAcl,
    kind: "guarded",
    target: async () => ({ target: newPrincipal() }),
    needs: [entry(CLUSTER_DENIED, onCluster("Alter"))],
    request: (fx) => ({
      method: "POST",
      path: "/v1/admin/acls",
      json: { principal: fx.target, resourceType: "topic", resourceName: "mx-acl-target", operation: "All" },
    }),
    ok: 201,
    probe: (fx) => aclsOf(fx.target),
    mutates: true,
  },
  {
    route: declared.access.listAcls,
    kind: "guarded",
    needs: [entry(CLUSTER_DENIED, onCluster("Describe"))],
    request: () => ({ method: "GET", path: `/v1/admin/acls?principal=${encodeURIComponent(POWER)}` }),
    ok: 200,
    probe: () => aclsOf(POWER),
  },
  {
    route: declared.access.deleteAcls,
    kind: "guarded",
    target: async () => {
      const victim = newPrincipal();
      await addAcls([{ principal: victim, resourceType: "topic", resourceName: "mx-acl-victim", operation: "Read" }]);
      return { victim };
    },
    needs: [entry(CLUSTER_DENIED, onCluster("Alter"))],
    request: (fx) => ({ method: "DELETE", path: "/v1/admin/acls", json: { principal: fx.victim } }),
    ok: 200,
    probe: (fx) => aclsOf(fx.victim),
    mutates: true,
  },
  {
    route: declared.access.setQuotas,
    kind: "guarded",
    target: async () => ({ entity: newPrincipal() }),
    needs: [entry(CLUSTER_DENIED, onCluster("AlterConfigs"))],
    request: (fx) => ({ method: "PUT", path: `/v1/admin/quotas/${fx.entity}`, json: { request_rate: 1_000 } }),
    ok: 200,
    probe: (fx) => quotas(fx.entity),
    mutates: true,
  },
  {
    route: declared.access.listQuotas,
    kind: "guarded",
    needs: [entry(CLUSTER_DENIED, onCluster("DescribeConfigs"))],
    request: () => ({ method: "GET", path: "/v1/admin/quotas" }),
    ok: 200,
    probe: () => quotas(),
  },
  {
    route: declared.access.deleteQuotas,
    kind: "guarded",
    target: async () => {
      const entity = newPrincipal();
      await admin("PUT", `/v1/admin/quotas/${entity}`, { producer_byte_rate: 1_000_000 });
      return { entity };
    },
    needs: [entry(CLUSTER_DENIED, onCluster("AlterConfigs"))],
    request: (fx) => ({ method: "DELETE", path: `/v1/admin/quotas/${fx.entity}` }),
    ok: 200,
    probe: (fx) => quotas(fx.entity),
    mutates: true,
  },
];

// ---------------------------------------------------------------------------------------------
// The principal every bad credential belongs to: allowed everything (literal "*" and the
// cluster), so that a credential that got through would be seen to succeed and change state.

const POWER = "User:mx-power";
let powerKey: string;
let revokedKey: string;

beforeAll(async () => {
  batch = await encodeBatch([{ key: null, value: new TextEncoder().encode("matrix"), headers: [] }]);
  // The first refusal makes __audit: made here, so that no probe sees it appear.
  expect((await send({ method: "GET", path: "/v1/topics" })).status).toBe(401);
  const types: [ResourceType, string][] = [
    ["topic", "*"],
    ["group", "*"],
    ["cluster", CLUSTER_RESOURCE],
    ["transactionalId", "*"],
  ];
  await addAcls(types.map(([resourceType, resourceName]) => ({ principal: POWER, resourceType, resourceName, operation: "All" })));
  powerKey = (await mintKey(POWER)).secret;
  const revoked = await mintKey(POWER);
  await admin("DELETE", `/v1/admin/keys/${revoked.keyId}`);
  revokedKey = revoked.secret;
});

interface BadCred {
  title: string;
  cred: () => Promise<Cred>;
  /** Not a bad credential on a WebSocket upgrade. */
  upgradeOk?: boolean;
}

const BAD_CREDENTIALS: BadCred[] = [
  { title: "no credential", cred: async () => ({}) },
  { title: "a malformed header (Basic scheme)", cred: async () => ({ authorization: `Basic ${powerKey}`, secret: powerKey }) },
  {
    title: "a malformed header (two words after Bearer)",
    cred: async () => ({ authorization: `Bearer ${powerKey} ${powerKey}`, secret: powerKey }),
  },
  { title: "a wrong token", cred: async () => bearer(`${TOKEN}-not`) },
  { title: "a wrong secret for a real key id", cred: async () => bearer(`${powerKey.slice(0, -4)}AAAA`) },
  { title: "a JWT signed with another secret", cred: async () => bearer(await jwtFor(POWER, {}, "another-secret-of-thirty-two-byte")) },
  { title: "an expired JWT", cred: async () => bearer(await jwtFor(POWER, { exp: nowS() - 120 })) },
  { title: "a JWT not valid yet (nbf)", cred: async () => bearer(await jwtFor(POWER, { nbf: nowS() + 300 })) },
  { title: "a JWT without exp", cred: async () => bearer(await jwtFor(POWER, { exp: undefined })) },
  { title: "a JWT for another audience", cred: async () => bearer(await jwtFor(POWER, { aud: "someone-else" })) },
  { title: "a revoked API key", cred: async () => bearer(revokedKey) },
  {
    title: "a valid key as ?access_token= on a request that is not an upgrade",
    cred: async () => ({ accessToken: powerKey, secret: powerKey }),
    upgradeOk: true,
  },
];

// ---------------------------------------------------------------------------------------------
// Assertions

type Expected = { status: 401 | 403; code: ErrorCode } | "hidden" | "allowed";

/** What a route answers a principal that lacks `code`'s need. */
const refusal = (row: Row, code: ErrorCode): Expected =>
  row.kind === "guarded" ? { status: 403, code } : row.kind === "filtered" ? "hidden" : "allowed";

function expectNoSecret(a: Answer, cred: Cred): void {
  for (const s of [cred.secret, cred.accessToken, TOKEN, JWT_SECRET]) if (s) expect(a.text).not.toContain(s);
  // An API key is "elk_<keyId>_<secret>": the secret part alone must not appear either.
  if (cred.secret?.startsWith("elk_")) expect(a.text).not.toContain(cred.secret.slice(cred.secret.indexOf("_", 4) + 1));
}

/** Sends the row's request with `cred`: refused as `expected`, and nothing changed. */
async function expectRefused(row: Row, fx: Fx, cred: Cred, expected: Expected): Promise<Answer> {
  if (expected === "allowed") return expectAllowed(row, fx, cred);
  const req = await row.request(fx);
  const before = await row.probe(fx);
  const a = await send(req, cred);
  if (expected === "hidden") {
    expect(a.status, a.text).toBe(200);
    expect(row.visible!(a.body, fx), a.text).toBe(false);
  } else {
    expect(a.status, a.text).toBe(expected.status);
    expect(a.body?.error?.code, a.text).toBe(expected.code);
    expect(a.body.error.retriable).toBe(false);
  }
  expectNoSecret(a, cred);
  expect(await row.probe(fx)).toEqual(before);
  return a;
}

/** Sends the row's request with `cred`: allowed, and (for a change) the probe sees it. */
async function expectAllowed(row: Row, fx: Fx, cred: Cred): Promise<Answer> {
  const req = await row.request(fx);
  const before = row.mutates ? await row.probe(fx) : undefined;
  const a = await send(req, cred);
  expect(a.status, a.text).toBe(row.ok);
  if (a.body?.secret) SECRETS.add(a.body.secret);
  if (row.visible) expect(row.visible(a.body, fx), a.text).toBe(true);
  if (row.mutates) expect(await row.probe(fx)).not.toEqual(before);
  return a;
}

/** A fresh principal with an API key, and `bindings(principal)` added. */
async function principalWith(bindings: (principal: string) => Binding[]): Promise<{ principal: string; cred: Cred }> {
  const principal = newPrincipal();
  const { secret } = await mintKey(principal);
  await addAcls(bindings(principal));
  return { principal, cred: bearer(secret) };
}

/** Exactly one need per entry (the first alternative unless `pick` says otherwise). */
const exactly = (row: Row, fx: Fx, p: string, pick: (e: Entry, i: number) => Need = (e) => e.anyOf[0]) =>
  row.needs.map((e, i) => bind(p, pick(e, i), fx));

interface Case {
  title: string;
  run: (fx: Fx) => Promise<unknown>;
}

/** The matrix's columns for one row. */
function casesOf(row: Row): Case[] {
  const cases: Case[] = [];
  const upgrade = row.ok === 101;
  for (const bad of BAD_CREDENTIALS) {
    if (upgrade && bad.upgradeOk) continue;
    cases.push({
      title: `401 for ${bad.title}`,
      run: async (fx) => expectRefused(row, fx, await bad.cred(), { status: 401, code: "SASL_AUTHENTICATION_FAILED" }),
    });
  }
  cases.push({
    title: "allowed for a valid key of the same principal (the control)",
    run: (fx) => expectAllowed(row, fx, bearer(powerKey)),
  });
  const first = row.needs[0]?.code ?? "TOPIC_AUTHORIZATION_FAILED";
  cases.push({
    title: `refused for a principal without ACLs: ${row.kind === "guarded" ? `403 ${first}` : row.kind}`,
    run: async (fx) => expectRefused(row, fx, (await principalWith(() => [])).cred, refusal(row, first)),
  });
  if (row.kind === "open") {
    cases.push({
      title: "allowed for a JWT whose acl claim allows nothing here",
      run: async (fx) => {
        const p = newPrincipal();
        const acl = [{ resourceType: "topic", resourceName: "mx-elsewhere", operations: ["Read"] }];
        return expectAllowed(row, fx, bearer(await jwtFor(p, { acl })));
      },
    });
    return cases;
  }
  const needsText = row.needs.map((e) => e.anyOf.map(label).join(" or ")).join(" + ");
  cases.push({
    title: `allowed with exactly ${row.needs.map((e) => label(e.anyOf[0])).join(" + ")}`,
    run: async (fx) => expectAllowed(row, fx, (await principalWith((p) => exactly(row, fx, p))).cred),
  });
  row.needs.forEach((e, i) => {
    for (const alt of e.anyOf.slice(1)) {
      cases.push({
        title: `allowed with ${label(alt)} instead of ${label(e.anyOf[0])}`,
        run: async (fx) =>
          expectAllowed(row, fx, (await principalWith((p) => exactly(row, fx, p, (x, j) => (j === i ? alt : x.anyOf[0])))).cred),
      });
    }
    for (const alt of e.anyOf) {
      for (const implying of IMPLIED_BY[alt.op] ?? []) {
        cases.push({
          title: `allowed with ${implying} on the ${alt.type}, which implies ${alt.op}`,
          run: async (fx) =>
            expectAllowed(
              row,
              fx,
              (await principalWith((p) => exactly(row, fx, p, (x, j) => (j === i ? { ...alt, op: implying } : x.anyOf[0])))).cred,
            ),
        });
      }
    }
    const others = (p: string, fx: Fx) => exactly(row, fx, p).filter((_, j) => j !== i);
    cases.push({
      title: `refused with every operation but ${e.anyOf.map(label).join(" or ")}: ${row.kind === "guarded" ? `403 ${e.code}` : row.kind}`,
      run: async (fx) => {
        const { cred } = await principalWith((p) => [
          ...others(p, fx),
          ...e.anyOf.flatMap((alt) => allBut(alt.op).map((operation) => bind(p, alt, fx, { operation }))),
        ]);
        return expectRefused(row, fx, cred, refusal(row, e.code));
      },
    });
    cases.push({
      title: `refused when a deny of ${e.anyOf.map(label).join(" or ")} overrides an allow of All`,
      run: async (fx) => {
        const { cred } = await principalWith((p) => [
          ...row.needs.flatMap((x) => x.anyOf.map((alt) => bind(p, alt, fx, { operation: "All" }))),
          ...e.anyOf.map((alt) => bind(p, alt, fx, { permission: "deny" })),
        ]);
        return expectRefused(row, fx, cred, refusal(row, e.code));
      },
    });
    const named = e.anyOf.filter((alt) => alt.type !== "cluster" && !alt.anyName);
    if (named.length === e.anyOf.length) {
      cases.push({
        title: `refused when a prefixed deny of ${e.anyOf.map(label).join(" or ")} overrides a literal allow of All`,
        run: async (fx) => {
          const { cred } = await principalWith((p) => [
            ...row.needs.flatMap((x) => x.anyOf.map((alt) => bind(p, alt, fx, { operation: "All" }))),
            ...named.map((alt) => bind(p, alt, fx, { permission: "deny", patternType: "prefixed", resourceName: prefixOf(alt.of(fx)) })),
          ]);
          return expectRefused(row, fx, cred, refusal(row, e.code));
        },
      });
      cases.push({
        title: `refused with a prefixed pattern that does not cover the ${named.map((n) => n.type).join(" or ")}`,
        run: async (fx) => {
          const { cred } = await principalWith((p) => [
            ...others(p, fx),
            ...named.map((alt) => bind(p, alt, fx, { patternType: "prefixed", resourceName: nearMiss(alt.of(fx)) })),
          ]);
          return expectRefused(row, fx, cred, refusal(row, e.code));
        },
      });
      cases.push({
        title: `refused with a literal pattern of the ${named.map((n) => n.type).join(" or ")}'s prefix (a literal is not a prefix)`,
        run: async (fx) => {
          const { cred } = await principalWith((p) => [
            ...others(p, fx),
            ...named.map((alt) => bind(p, alt, fx, { resourceName: prefixOf(alt.of(fx)) })),
          ]);
          return expectRefused(row, fx, cred, refusal(row, e.code));
        },
      });
    }
  });
  cases.push({
    title: `allowed with prefixed patterns covering ${needsText}`,
    run: async (fx) => {
      const { cred } = await principalWith((p) =>
        row.needs.map((e) => {
          const n = e.anyOf[0];
          const name = n.of(fx);
          return bind(p, n, fx, { patternType: "prefixed", resourceName: n.type === "cluster" ? name : prefixOf(name) });
        }),
      );
      return expectAllowed(row, fx, cred);
    },
  });
  cases.push({
    title: "refused when only another principal has the ACLs",
    run: async (fx) => {
      const other = newPrincipal();
      await addAcls(exactly(row, fx, other));
      return expectRefused(row, fx, (await principalWith(() => [])).cred, refusal(row, first));
    },
  });
  cases.push({
    title: "allowed for a JWT of a principal with exactly the needs",
    run: async (fx) => {
      const p = newPrincipal();
      await addAcls(exactly(row, fx, p));
      return expectAllowed(row, fx, bearer(await jwtFor(p)));
    },
  });
  cases.push({
    title: "refused for a JWT whose acl claim leaves the need out, though its principal may",
    run: async (fx) => {
      const p = newPrincipal();
      await addAcls(exactly(row, fx, p));
      const acl = [{ resourceType: "topic", resourceName: "mx-elsewhere", operations: ["All"] }];
      return expectRefused(row, fx, bearer(await jwtFor(p, { acl })), refusal(row, first));
    },
  });
  if (row.topicNamed) {
    cases.push({
      title: "an unknown topic and an existing one it may not use answer the same status and body",
      run: async (fx) => {
        // Allowed everything but the topic (the group, for group routes): the topic need is the one refused.
        const { cred } = await principalWith((p) =>
          row.needs.filter((e) => e.anyOf.every((n) => n.type !== "topic")).map((e) => bind(p, e.anyOf[0], fx)),
        );
        const existing = await expectRefused(row, fx, cred, { status: 403, code: TOPIC_DENIED });
        const unknown = { ...fx, topic: unique("never") };
        const missing = await expectRefused(row, unknown, cred, { status: 403, code: TOPIC_DENIED });
        expect(missing.text.replaceAll(unknown.topic, "<topic>")).toBe(existing.text.replaceAll(fx.topic, "<topic>"));
        expect((await topicState(unknown.topic)).status).toBe(404);
      },
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Logs: every line the worker writes is kept, to check that no secret or token is in one.

const logged: string[] = [];
beforeAll(() => {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[level].bind(console);
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(
        args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "),
      );
      original(...args);
    });
  }
});
afterAll(() => {
  vi.restoreAllMocks();
});

describe("the matrix covers every documented route", () => {
  it("has a row for every route declared in protocol/api/", () => {
    const documented = [declared.topics, declared.records, declared.groups, declared.admin, declared.access]
      .flatMap((family) => Object.values(family))
      .filter((v): v is ApiRoute => typeof v === "object" && v !== null && "method" in v && "path" in v && "responses" in v)
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(documented.length).toBeGreaterThanOrEqual(34);
    const covered = new Set(ROWS.map((r) => `${r.route.method.toUpperCase()} ${r.route.path}`));
    expect(documented.filter((d) => !covered.has(d))).toEqual([]);
  });

  it("refuses with Kafka's codes: 29, 30, 31, 53 (403) and 58 (401)", () => {
    expect([TOPIC_DENIED, GROUP_DENIED, CLUSTER_DENIED, TXN_DENIED].map((c) => [ERROR_CODES[c].kafka, ERROR_CODES[c].status])).toEqual([
      [29, 403],
      [30, 403],
      [31, 403],
      [53, 403],
    ]);
    expect([ERROR_CODES.SASL_AUTHENTICATION_FAILED.kafka, ERROR_CODES.SASL_AUTHENTICATION_FAILED.status]).toEqual([58, 401]);
  });
});

describe.each(ROWS.map((row) => ({ row, title: titleOf(row) })))("$title", ({ row }) => {
  let shared: Fx = {};
  beforeAll(async () => {
    shared = row.shared ? await row.shared() : {};
  });
  it.each(casesOf(row))("$title", async ({ run }) => {
    await run(row.target ? await row.target(shared) : shared);
  });
});

// ---------------------------------------------------------------------------------------------
// The two WebSockets, at upgrade time: ?access_token= (for browsers) is accepted here, and only here.

/** The first frame `a`'s socket received that matches, within `timeoutMs`. */
async function frameOf(a: Answer, match: (f: any) => boolean, timeoutMs = 5_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = a.frames!.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching frame in time: ${JSON.stringify(a.frames)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface SocketRow {
  name: string;
  path: (fx: Fx) => string;
  /** What reading through the socket needs. */
  needs: Entry[];
  /** The first frame a reader that may gets. */
  serves: (f: any) => boolean;
}

const SOCKETS: SocketRow[] = [
  {
    name: "partition subscription",
    path: (fx) => `/v1/topics/${fx.topic}/partitions/0/subscribe?offset=0`,
    needs: [entry(TOPIC_DENIED, onTopic("Read"))],
    serves: (f) => Array.isArray(f.records) && f.records.map((r: { value: unknown }) => r.value).join() === "a,b,c",
  },
  {
    name: "group subscription",
    path: (fx) => `/v1/groups/${fx.group}/members/${fx.member}/subscribe`,
    needs: [entry(GROUP_DENIED, onGroup("Read")), entry(TOPIC_DENIED, onTopic("Read"))],
    serves: (f) => f.type === "assignment",
  },
];

const BAD_TOKENS: [string, () => Promise<string>][] = [
  ["an empty ?access_token=", async () => ""],
  ["a wrong ?access_token=", async () => `${TOKEN}-not`],
  ["a wrong key secret as ?access_token=", async () => `${powerKey.slice(0, -4)}AAAA`],
  ["a revoked key as ?access_token=", async () => revokedKey],
  ["an expired JWT as ?access_token=", () => jwtFor(POWER, { exp: nowS() - 120 })],
  ["a JWT not valid yet as ?access_token=", () => jwtFor(POWER, { nbf: nowS() + 300 })],
  ["a badly signed JWT as ?access_token=", () => jwtFor(POWER, {}, "another-secret-of-thirty-two-byte")],
];

describe.each(SOCKETS)("the $name WebSocket, at upgrade", (socket) => {
  let fx: Fx;
  beforeAll(async () => {
    const t = await topicWithRecords("ws");
    fx = { ...t, ...(await groupWithMember(t.topic)) };
  });
  const upgrade = (cred: Cred, keep = false) => send({ method: "GET", path: socket.path(fx), upgrade: true }, cred, keep);
  const expectCode = (a: Answer, status: number, code: ErrorCode, cred: Cred = {}) => {
    expect(a.status, a.text).toBe(status);
    expect(a.ws).toBeUndefined();
    expect(a.body.error.code).toBe(code);
    expectNoSecret(a, cred);
  };
  const reader = () => principalWith((p) => socket.needs.map((e) => bind(p, e.anyOf[0], fx)));

  it.each(BAD_TOKENS)("refuses %s: 401", async (_title, token) => {
    const t = await token();
    const cred = { accessToken: t, secret: t };
    expectCode(await upgrade(cred), 401, "SASL_AUTHENTICATION_FAILED", cred);
  });

  it("refuses an upgrade without any credential: 401", async () => {
    expectCode(await upgrade({}), 401, "SASL_AUTHENTICATION_FAILED");
  });

  it("refuses a wrong Authorization header even with a valid ?access_token= (the header is the credential): 401", async () => {
    const { cred } = await reader();
    expectCode(await upgrade({ authorization: "Bearer wrong", accessToken: cred.secret }), 401, "SASL_AUTHENTICATION_FAILED", cred);
  });

  it(`refuses a valid ?access_token= without Read: 403 ${socket.needs[0].code}`, async () => {
    const { cred } = await principalWith(() => []);
    expectCode(await upgrade({ accessToken: cred.secret, secret: cred.secret }), 403, socket.needs[0].code, cred);
  });

  it.each(socket.needs.map((e, i) => ({ e, i, title: label(e.anyOf[0]) })))(
    "refuses a valid ?access_token= with every operation but $title: 403",
    async ({ e, i }) => {
      const { cred } = await principalWith((p) => [
        ...socket.needs.filter((_, j) => j !== i).map((x) => bind(p, x.anyOf[0], fx)),
        ...allBut(e.anyOf[0].op).map((operation) => bind(p, e.anyOf[0], fx, { operation })),
      ]);
      expectCode(await upgrade({ accessToken: cred.secret, secret: cred.secret }), 403, e.code, cred);
    },
  );

  it("refuses a valid ?access_token= whose principal may Read something else only: 403", async () => {
    const { cred } = await principalWith((p) =>
      socket.needs.map((e) => bind(p, e.anyOf[0], fx, { resourceName: `${e.anyOf[0].of(fx)}-other` })),
    );
    expectCode(await upgrade({ accessToken: cred.secret, secret: cred.secret }), 403, socket.needs[0].code, cred);
  });

  it("accepts ?access_token= with a key that may Read, and the socket serves", async () => {
    const { cred } = await reader();
    const a = await upgrade({ accessToken: cred.secret }, true);
    expect(a.status).toBe(101);
    const first = await frameOf(a, (f) => socket.serves(f) || f.type === "error");
    expect(socket.serves(first), JSON.stringify(first)).toBe(true);
    a.ws!.close(1000);
  });

  it("accepts ?access_token= with a JWT that may Read", async () => {
    const p = newPrincipal();
    await addAcls(socket.needs.map((e) => bind(p, e.anyOf[0], fx)));
    const a = await upgrade({ accessToken: await jwtFor(p) }, true);
    expect(a.status).toBe(101);
    expect(socket.serves(await frameOf(a, (f) => socket.serves(f) || f.type === "error"))).toBe(true);
    a.ws!.close(1000);
  });

  it("accepts Authorization: Bearer with a key that may Read", async () => {
    const { cred } = await reader();
    const a = await upgrade(cred, true);
    expect(a.status).toBe(101);
    expect(socket.serves(await frameOf(a, (f) => socket.serves(f) || f.type === "error"))).toBe(true);
    a.ws!.close(1000);
  });
});

describe("open sockets, after their credential is revoked", () => {
  // The partition's leader and the member's session re-check the grant each socket was opened
  // with (worker/access/socket-access.ts) and close it with 4031 (accessRevoked).
  it("are closed with 4031 within ACCESS_STALENESS_MS + SOCKET_RECHECK_MS", async () => {
    const t = await topicWithRecords("revoked-ws");
    const fx = { ...t, ...(await groupWithMember(t.topic)) };
    const p = newPrincipal();
    const key = await mintKey(p);
    await addAcls([bind(p, onTopic("Read"), fx), bind(p, onGroup("Read"), fx)]);
    const opened = await Promise.all(
      SOCKETS.map((s) => send({ method: "GET", path: s.path(fx), upgrade: true }, bearer(key.secret), true)),
    );
    const closed = opened.map((a) => {
      expect(a.status).toBe(101);
      return new Promise<number>((resolve) => a.ws!.addEventListener("close", (e) => resolve(e.code)));
    });
    await admin("DELETE", `/v1/admin/keys/${key.keyId}`);
    const limit = ACCESS_STALENESS_MS + SOCKET_RECHECK_MS + 2_000;
    const timeout = new Promise<"open">((resolve) => setTimeout(() => resolve("open"), limit));
    try {
      const outcomes = await Promise.all(closed.map((c) => Promise.race([c, timeout])));
      expect(outcomes).toEqual(SOCKETS.map(() => CLOSE_CODES.accessRevoked));
    } finally {
      for (const a of opened) a.ws!.close(1000);
    }
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// Rules that reach across routes

const get = (path: string) => ({ method: "GET", path });

/** A topic's description without what every append changes (for __audit, which each refusal appends to). */
async function layoutOf(topic: string) {
  const { status, body } = await topicState(topic);
  return {
    status,
    topicId: body?.topicId,
    config: body?.config,
    partitions: body?.partitions?.map((p: { partition: number; replicas: number[] }) => [p.partition, p.replicas]),
  };
}

describe("__audit and other internal topics: superusers only", () => {
  const AUDIT = "__audit";

  it("are out of reach of a principal allowed All on every topic (literal *), and unknown and denied answer alike", async () => {
    const before = await layoutOf(AUDIT);
    const cred = bearer(powerKey);
    const requests: Req[] = [
      get(`/v1/topics/${AUDIT}`),
      get(`/v1/topics/${AUDIT}/partitions/0/records?offset=0`),
      get(`/v1/topics/${AUDIT}/partitions/0/batches?offset=0`),
      get(`/v1/topics/${AUDIT}/partitions/0/offsets`),
      { ...get(`/v1/topics/${AUDIT}/partitions/0/subscribe?offset=0`), upgrade: true },
      { method: "POST", path: `/v1/topics/${AUDIT}/records`, json: { records: [{ value: "forged" }] } },
      { method: "POST", path: `/v1/topics/${AUDIT}/partitions/0/batches`, bytes: batch },
      { method: "PATCH", path: `/v1/topics/${AUDIT}/config`, json: { config: { "retention.ms": 1 } } },
      { method: "POST", path: `/v1/topics/${AUDIT}/partitions`, json: { count: 2 } },
      { method: "DELETE", path: `/v1/topics/${AUDIT}` },
    ];
    for (const req of requests) {
      const a = await send(req, cred);
      expect(a.status, `${req.method} ${req.path}: ${a.text}`).toBe(403);
      expect(a.body.error.code).toBe(TOPIC_DENIED);
      const unknown = await send({ ...req, path: req.path.replace(AUDIT, "__mx-never") }, cred);
      expect(unknown.text.replace("__mx-never", AUDIT), req.path).toBe(a.text);
    }
    const listed = await send(get("/v1/topics"), cred);
    expect(listed.body.topics.map((t: { name: string }) => t.name)).not.toContain(AUDIT);
    expect(await layoutOf(AUDIT)).toEqual(before);
  });

  it("no binding opens them: not a prefixed __, a literal __audit or User:* with All", async () => {
    const { cred } = await principalWith((p) => [
      { principal: p, resourceType: "topic", resourceName: "__", patternType: "prefixed", operation: "All" },
      { principal: p, resourceType: "topic", resourceName: AUDIT, operation: "All" },
      { principal: p, resourceType: "topic", resourceName: AUDIT, operation: "Read" },
    ]);
    expect((await send(get(`/v1/topics/${AUDIT}/partitions/0/records?offset=0`), cred)).status).toBe(403);
    expect((await send(get(`/v1/topics/${AUDIT}`), cred)).status).toBe(403);
    expect((await send(get("/v1/topics"), cred)).body.topics).toEqual([]);
  });

  it("are readable by the superusers: EDGELOG_TOKEN, and a key or a JWT of an EDGELOG_SUPERUSERS principal", async () => {
    const opsKey = await admin("POST", "/v1/admin/keys", { principal: OPS }, 201);
    SECRETS.add(opsKey.secret);
    for (const cred of [ADMIN, bearer(opsKey.secret), bearer(await jwtFor(OPS))]) {
      const a = await send(get(`/v1/topics/${AUDIT}/partitions/0/records?offset=0&maxRecords=1`), cred);
      expect(a.status, a.text).toBe(200);
      expect(a.body.records).toHaveLength(1);
    }
  });

  it("cannot be created by a principal allowed Create on the cluster", async () => {
    const name = `__${unique("internal")}`;
    const { cred } = await principalWith((p) => [
      { principal: p, resourceType: "cluster", resourceName: CLUSTER_RESOURCE, operation: "Create" },
      { principal: p, resourceType: "topic", resourceName: "*", operation: "All" },
    ]);
    const before = await topicNames();
    const a = await send({ method: "POST", path: "/v1/topics", json: { name } }, cred);
    expect(a.status, a.text).toBe(403);
    expect(a.body.error.code).toBe(TOPIC_DENIED);
    expect(await topicNames()).toEqual(before);
    // A superuser may.
    expect((await send({ method: "POST", path: "/v1/topics", json: { name } }, ADMIN)).status).toBe(201);
  });
});

describe("privileges a principal cannot give itself", () => {
  it("a key for a superuser principal: only a superuser may create one, Alter on the cluster is not enough", async () => {
    const { cred } = await principalWith((p) => [
      { principal: p, resourceType: "cluster", resourceName: CLUSTER_RESOURCE, operation: "All" },
    ]);
    for (const principal of ["User:admin", OPS]) {
      const before = await keys((k) => k.principal === principal);
      const a = await send({ method: "POST", path: "/v1/admin/keys", json: { principal } }, cred);
      expect(a.status, a.text).toBe(403);
      expect(a.body.error.code).toBe(CLUSTER_DENIED);
      expect(await keys((k) => k.principal === principal)).toEqual(before);
    }
  });

  it("a token's acl claim narrows what its principal may do, and never widens it", async () => {
    const p = newPrincipal();
    const topic = (await topicWithRecords("claim")).topic;
    const acl = [
      { resourceType: "cluster", resourceName: CLUSTER_RESOURCE, operations: ["All"] },
      { resourceType: "topic", resourceName: "*", operations: ["All"] },
    ];
    const token = bearer(await jwtFor(p, { acl }));
    expect((await send(get(`/v1/topics/${topic}`), token)).status).toBe(403);
    const before = await aclsOf(p);
    const grant = { principal: p, resourceType: "topic", resourceName: topic, operation: "All" };
    expect((await send({ method: "POST", path: "/v1/admin/acls", json: grant }, token)).status).toBe(403);
    expect(await aclsOf(p)).toEqual(before);
  });
});

describe("User:* and the literal *", () => {
  it("a User:* allow applies to every principal; the principal's own deny overrides it", async () => {
    const topic = (await topicWithRecords("everyone")).topic;
    const wildcard: Binding = { principal: "User:*", resourceType: "topic", resourceName: topic, operation: "Read" };
    try {
      await addAcls([wildcard]);
      const { cred } = await principalWith(() => []);
      expect((await send(get(`/v1/topics/${topic}/partitions/0/records?offset=0`), cred)).status).toBe(200);
      const denied = await principalWith((p) => [{ ...wildcard, principal: p, permission: "deny" }]);
      const a = await send(get(`/v1/topics/${topic}/partitions/0/records?offset=0`), denied.cred);
      expect(a.status).toBe(403);
      expect(a.body.error.code).toBe(TOPIC_DENIED);
    } finally {
      await admin("DELETE", "/v1/admin/acls", { principal: "User:*", resourceName: topic });
    }
  });

  it("a User:* deny overrides every principal's own allow, but not a superuser", async () => {
    const topic = (await topicWithRecords("nobody")).topic;
    const wildcard: Binding = { principal: "User:*", resourceType: "topic", resourceName: topic, operation: "Write", permission: "deny" };
    try {
      await addAcls([wildcard]);
      const { cred } = await principalWith((p) => [{ principal: p, resourceType: "topic", resourceName: topic, operation: "All" }]);
      const before = await topicState(topic);
      const a = await send({ method: "POST", path: `/v1/topics/${topic}/records`, json: { records: [{ value: "x" }] } }, cred);
      expect(a.status).toBe(403);
      expect(await topicState(topic)).toEqual(before);
      // The deny is of Write only: Read (and the Describe it implies) still work.
      expect((await send(get(`/v1/topics/${topic}/partitions/0/records?offset=0`), cred)).status).toBe(200);
      expect((await send({ method: "POST", path: `/v1/topics/${topic}/records`, json: { records: [{ value: "x" }] } }, ADMIN)).status).toBe(
        200,
      );
    } finally {
      await admin("DELETE", "/v1/admin/acls", { principal: "User:*", resourceName: topic });
    }
  });
});

describe("the access state in this isolate", () => {
  it(`applies a grant, a removed ACL and a revoked key at the next request, well within ACCESS_STALENESS_MS (${ACCESS_STALENESS_MS} ms)`, async () => {
    const topic = (await topicWithRecords("fresh")).topic;
    const p = newPrincipal();
    const key = await mintKey(p);
    const fetchReq = get(`/v1/topics/${topic}/partitions/0/records?offset=0`);
    const started = Date.now();
    // Used once before the grant, so this isolate holds a snapshot without it.
    expect((await send(fetchReq, bearer(key.secret))).status).toBe(403);
    await addAcls([{ principal: p, resourceType: "topic", resourceName: topic, operation: "Read" }]);
    expect((await send(fetchReq, bearer(key.secret))).status).toBe(200);
    await admin("DELETE", "/v1/admin/acls", { principal: p });
    expect((await send(fetchReq, bearer(key.secret))).status).toBe(403);
    await addAcls([{ principal: p, resourceType: "topic", resourceName: topic, operation: "Read" }]);
    expect((await send(fetchReq, bearer(key.secret))).status).toBe(200);
    await admin("DELETE", `/v1/admin/keys/${key.keyId}`);
    expect((await send(fetchReq, bearer(key.secret))).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(ACCESS_STALENESS_MS);
  });
});

describe("what lists and descriptions leave out", () => {
  let fx: Fx;
  beforeAll(async () => {
    const t = await topicWithRecords("hidden");
    const g = await groupWithMember(t.topic);
    await admin("POST", `/v1/groups/${g.group}/offsets`, {
      memberId: g.member,
      generation: g.generation,
      offsets: [{ topic: t.topic, partition: 0, offset: 2 }],
    });
    fx = { ...t, ...g };
  });

  it("a topic's config only for a principal that may DescribeConfigs it", async () => {
    const describer = await principalWith((p) => [bind(p, onTopic("Describe"), fx)]);
    const a = await send(get(`/v1/topics/${fx.topic}`), describer.cred);
    expect(a.status).toBe(200);
    expect(a.body.config).toBeUndefined();
    const configs = await principalWith((p) => [bind(p, onTopic("Describe"), fx), bind(p, onTopic("DescribeConfigs"), fx)]);
    expect((await send(get(`/v1/topics/${fx.topic}`), configs.cred)).body.config).toMatchObject({ "retention.ms": expect.any(Number) });
  });

  it("a heartbeat's answer names no topic the principal may not Describe (a member's id is in the group's description)", async () => {
    const { cred } = await principalWith((p) => [bind(p, onGroup("Read"), fx)]);
    const beat = await send({ method: "POST", path: `/v1/groups/${fx.group}/members/${fx.member}/heartbeat` }, cred);
    expect(beat.status, beat.text).toBe(200);
    expect(beat.body.assignment).toEqual([]);
    expect(beat.text).not.toContain(fx.topic);
    const both = await principalWith((p) => [bind(p, onGroup("Read"), fx), bind(p, onTopic("Describe"), fx)]);
    const full = await send({ method: "POST", path: `/v1/groups/${fx.group}/members/${fx.member}/heartbeat` }, both.cred);
    expect(full.body.assignment).toEqual([{ topic: fx.topic, partition: 0 }]);
  });

  it("a group's committed offsets and description name no topic the principal may not Describe", async () => {
    const { cred } = await principalWith((p) => [bind(p, onGroup("Describe"), fx)]);
    expect((await send(get(`/v1/groups/${fx.group}/offsets`), cred)).body.offsets).toEqual([]);
    const described = await send(get(`/v1/groups/${fx.group}`), cred);
    expect(described.status).toBe(200);
    expect(described.body.partitions).toEqual([]);
    expect(described.body.members).toHaveLength(1);
    expect(described.text).not.toContain(fx.topic);
    // With Describe on the topic, all of it.
    const both = await principalWith((p) => [bind(p, onGroup("Describe"), fx), bind(p, onTopic("Describe"), fx)]);
    expect((await send(get(`/v1/groups/${fx.group}/offsets`), both.cred)).body.offsets).toHaveLength(1);
    const full = await send(get(`/v1/groups/${fx.group}`), both.cred);
    expect(full.body.members[0].topics).toEqual([fx.topic]);
    expect(full.body.members[0].assignment).toEqual([{ topic: fx.topic, partition: 0 }]);
    expect(full.body.partitions).toMatchObject([{ topic: fx.topic, partition: 0, committed: 2 }]);
  });
});

describe("__audit records every refusal", () => {
  const end = async () => (await admin("GET", "/v1/topics/__audit/partitions/0/offsets?timestamp=latest")).offset as number;
  async function recordsSince(offset: number): Promise<any[]> {
    const a = await send(get(`/v1/topics/__audit/partitions/0/records?offset=${offset}&maxRecords=10000`), ADMIN);
    expect(a.status, a.text).toBe(200);
    for (const s of SECRETS) expect(a.text.includes(s), "a secret in __audit").toBe(false);
    return a.body.records.map((r: { value: unknown }) => r.value);
  }

  it("a 403 and a 401 (a header, and ?access_token= on an upgrade): who, what, status and code, never the credential", async () => {
    const start = await end();
    const { principal, cred } = await principalWith(() => []);
    const topic = unique("audited");
    expect((await send(get(`/v1/topics/${topic}`), cred)).status).toBe(403);
    const wrong = `${cred.secret!.slice(0, -4)}AAAA`;
    SECRETS.add(wrong);
    expect((await send(get(`/v1/topics/${topic}`), bearer(wrong))).status).toBe(401);
    const path = `/v1/topics/${topic}/partitions/0/subscribe`;
    expect((await send({ ...get(`${path}?offset=0`), upgrade: true }, { accessToken: wrong })).status).toBe(401);
    const records = await recordsSince(start);
    expect(records).toContainEqual(
      expect.objectContaining({
        principal,
        via: "key",
        action: "GET /v1/topics/{topic}",
        path: `/v1/topics/${topic}`,
        outcome: "denied",
        status: 403,
        code: TOPIC_DENIED,
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        principal: null,
        outcome: "unauthenticated",
        status: 401,
        code: "SASL_AUTHENTICATION_FAILED",
        path: `/v1/topics/${topic}`,
      }),
    );
    expect(records).toContainEqual(expect.objectContaining({ principal: null, outcome: "unauthenticated", status: 401, path }));
  });

  it("a key for a superuser principal refused to a non-superuser is recorded as denied", async () => {
    const start = await end();
    const { principal, cred } = await principalWith((p) => [
      { principal: p, resourceType: "cluster", resourceName: CLUSTER_RESOURCE, operation: "Alter" },
    ]);
    expect((await send({ method: "POST", path: "/v1/admin/keys", json: { principal: OPS } }, cred)).status).toBe(403);
    expect(await recordsSince(start)).toContainEqual(
      expect.objectContaining({ principal, action: "POST /v1/admin/keys", outcome: "denied", status: 403, code: CLUSTER_DENIED }),
    );
  });
});

// Last: what every case above sent and answered is in the logs and in __audit by now.
describe("secrets and tokens", () => {
  it("appear in no log line", () => {
    const leaks = logged.filter((line) => [...SECRETS].some((s) => line.includes(s)));
    expect(leaks).toEqual([]);
  });

  it("appear in no __audit record, which holds the refusals", async () => {
    let offset = 0;
    const outcomes = new Set<string>();
    for (;;) {
      const a = await send(get(`/v1/topics/__audit/partitions/0/records?offset=${offset}&maxRecords=10000&maxBytes=8388608`), ADMIN);
      expect(a.status, a.text).toBe(200);
      for (const s of SECRETS) expect(a.text.includes(s), "a secret in __audit").toBe(false);
      for (const r of a.body.records) outcomes.add(r.value.outcome);
      if (a.body.nextOffset >= a.body.highWatermark) break;
      offset = a.body.nextOffset;
    }
    expect([...outcomes].sort()).toEqual(["denied", "ok", "unauthenticated"]);
  });
});
