/**
 * The data plane (declared in protocol/api/records.ts): JSON produce and fetch, binary produce
 * and fetch of RecordBatch v2 bytes, list offsets, and the partition socket.
 *
 * JSON produce groups the records by partition (explicit, keyed, or sticky), encodes one
 * RecordBatch v2 per partition and appends them in parallel (../produce/json-produce.ts); the
 * answer lists each record's partition and offset in request order. An `Idempotency-Key` header
 * makes a retried request return the first attempt's offsets instead of appending again.
 *
 * Every produced binary batch is checked completely before anything is appended (CRC-32C,
 * framing, every record's lengths and offset deltas; gzip batches are decompressed to check
 * them), so a corrupt batch is refused with CORRUPT_MESSAGE and never stored.
 */
import { records as api } from "../../../protocol/api";
import { EdgelogError } from "../../../protocol/errors";
import { jsonRecordsFrom } from "../../../protocol/json-record";
import { LIMITS } from "../../../protocol/limits";
import { decodeRecords, splitBatches, validateBatch } from "../../../protocol/record-batch";
import { HEADERS, RECORD_BATCH_MEDIA_TYPE } from "../../../protocol/wire";
import { passGrant } from "../../access/socket-access";
import { withTopic } from "../../cluster/metadata";
import { appendTo, offsetForTimestamp, readFrom, statusOf, subscribeTo } from "../../cluster/partition-client";
import { compacts, keylessOnCompacted } from "../../partition/cleaner";
import type { Acks } from "../../partition/types";
import { topic as onTopic } from "../http/auth";
import { chargeFetched } from "../http/quota";
import { type App, serve } from "../http/serve";
import { produceJson } from "../produce/json-produce";
import { jsonTransaction, transactionalNeed, verifyTransactional } from "../produce/transactional";
import { parseJsonRecords } from "../produce/json-records";
import { readReplica } from "./read-replica";

const acksOf = (acks: "0" | "1" | "all" | "-1"): Acks => (acks === "0" ? 0 : acks === "1" ? 1 : "all");

export function records(app: App): void {
  serve(
    app,
    api.produceRecords,
    {
      needs: ({ params, headers }) => [onTopic(params.topic, "Write"), ...transactionalNeed(headers[HEADERS.transactionalId])],
      quota: "produce",
    },
    async (c, { params, query, headers, body, bytes }) => {
      const acks = acksOf(query.acks);
      const idempotencyKey = headers[HEADERS.idempotencyKey];
      const transaction = jsonTransaction(headers);
      const inputs = parseJsonRecords(body.records);
      const digest = idempotencyKey === undefined || !bytes ? undefined : await sha256Hex(bytes);
      const now = Date.now();
      const { offsets, deferred } = await withTopic(c.env, params.topic, (topic) =>
        produceJson(c.env, topic, { inputs, acks, idempotencyKey, digest, transaction }, now),
      );
      if (deferred) c.executionCtx.waitUntil(deferred);
      return c.json({ offsets }, acks === 0 ? 202 : 200);
    },
  );

  serve(
    app,
    api.fetchRecords,
    { needs: ({ params }) => [onTopic(params.topic, "Read")], quota: "fetch" },
    async (c, { params, query: { region, ...request } }) => {
      const { partition } = params;
      return withTopic(c.env, params.topic, async (topic) => {
        const result = await readFrom(c.env, topic, partition, request, readReplica(c.env, topic, partition, region, c.req.raw));
        chargeFetched(c, result.data.byteLength);
        const out = await jsonRecordsFrom(result.data, request.offset, {
          maxRecords: request.maxRecords,
          maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes,
          aborted: request.isolation === "read_committed" ? (result.abortedTransactions ?? []) : undefined,
        });
        // Cut by maxRecords, the next read starts after the last record; otherwise after the
        // batches read, past any offsets compaction removed from them.
        const cut = out.length >= request.maxRecords;
        const nextOffset = cut ? out[out.length - 1].offset + 1 : Math.max(result.nextOffset, request.offset);
        return c.json({
          topic: topic.name,
          partition,
          records: out,
          nextOffset,
          highWatermark: result.highWatermark,
          lastStableOffset: result.lastStableOffset ?? result.highWatermark,
          logStartOffset: result.logStartOffset,
          replica: result.replica,
        });
      });
    },
  );

  serve(
    app,
    api.produceBatches,
    {
      needs: ({ params, headers }) => [onTopic(params.topic, "Write"), ...transactionalNeed(headers[HEADERS.transactionalId])],
      quota: "produce",
    },
    async (c, input) => {
      const { params, query } = input;
      const { partition } = params;
      const acks = acksOf(query.acks);
      const body = input.bytes ?? new Uint8Array(0);
      if (body.byteLength === 0) throw new EdgelogError("INVALID_REQUEST", "the body must hold at least one record batch");
      const split = splitBatches(body);
      if (split.length > LIMITS.batchesPerRequest) {
        throw new EdgelogError("RECORD_LIST_TOO_LARGE", `at most ${LIMITS.batchesPerRequest} batches per request, got ${split.length}`);
      }
      return withTopic(c.env, params.topic, async (topic) => {
        // Sizes first (cheap), then each batch's records one at a time: a gzip batch is
        // decompressed only once it is known to fit, and never two at once.
        for (const { header } of split) {
          if (header.size > topic.config["max.message.bytes"]) {
            throw new EdgelogError(
              "MESSAGE_TOO_LARGE",
              `batch of ${header.size} bytes exceeds max.message.bytes ${topic.config["max.message.bytes"]}`,
            );
          }
        }
        const checked = [];
        const compacted = compacts(topic.config["cleanup.policy"]);
        for (const [b, { header, bytes }] of split.entries()) {
          const options = { maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes, checkedHeader: header, dense: true };
          if (compacted) {
            const keyless = (await decodeRecords(bytes, options)).findIndex((r) => r.key === null);
            if (keyless >= 0) throw keylessOnCompacted(topic.name, `batch ${b}, record ${keyless}`);
          } else await validateBatch(bytes, options);
          checked.push({ header, bytes });
        }
        await verifyTransactional(
          c.env,
          input.headers[HEADERS.transactionalId],
          { topic: topic.name, partition },
          checked.map((b) => b.header),
        );
        const append = appendTo(c.env, topic, partition, { batches: checked, acks });
        if (acks === 0) {
          c.executionCtx.waitUntil(append.catch((err) => console.error("edgelog: acks=0 append failed", err)));
          return c.json({ partition, baseOffset: null, lastOffset: null, batches: [] }, 202);
        }
        const result = await append;
        return c.json({
          partition,
          baseOffset: result.batches[0].baseOffset,
          lastOffset: result.batches[result.batches.length - 1].lastOffset,
          batches: result.batches,
          highWatermark: result.highWatermark,
          logStartOffset: result.logStartOffset,
        });
      });
    },
  );

  serve(
    app,
    api.fetchBatches,
    { needs: ({ params }) => [onTopic(params.topic, "Read")], quota: "fetch" },
    async (c, { params, query: { region, ...request } }) => {
      const { partition } = params;
      return withTopic(c.env, params.topic, async (topic) => {
        const result = await readFrom(c.env, topic, partition, request, readReplica(c.env, topic, partition, region, c.req.raw));
        chargeFetched(c, result.data.byteLength);
        return new Response(result.data as Uint8Array<ArrayBuffer>, {
          headers: {
            [HEADERS.contentType]: RECORD_BATCH_MEDIA_TYPE,
            [HEADERS.highWatermark]: String(result.highWatermark),
            [HEADERS.logStartOffset]: String(result.logStartOffset),
            [HEADERS.nextOffset]: String(result.nextOffset),
            [HEADERS.replica]: String(result.replica),
            [HEADERS.lastStableOffset]: String(result.lastStableOffset ?? result.highWatermark),
            ...(request.isolation === "read_committed"
              ? { [HEADERS.abortedTransactions]: JSON.stringify(result.abortedTransactions ?? []) }
              : {}),
          },
        });
      });
    },
  );

  serve(app, api.listOffsets, { needs: ({ params }) => [onTopic(params.topic, "Describe")] }, async (c, { params, query }) => {
    const { partition } = params;
    const { timestamp } = query;
    return withTopic(c.env, params.topic, async (topic) => {
      if (timestamp === "earliest" || timestamp === "latest") {
        const status = await statusOf(c.env, topic, partition);
        const offset = timestamp === "earliest" ? status.logStartOffset : status.highWatermark;
        return c.json({ topic: topic.name, partition, timestamp, offset });
      }
      const found = await offsetForTimestamp(c.env, topic, partition, timestamp);
      return c.json({ topic: topic.name, partition, timestamp, offset: found?.offset ?? null, recordTimestamp: found?.timestamp ?? null });
    });
  });

  // The worker validates and forwards the upgrade to the partition's leader object, which accepts
  // the socket with the hibernation API and becomes its server. When leadership moves, the old
  // leader closes its sockets with 4006 and the offset to resume from; reconnecting reaches the new one.
  serve(app, api.subscribePartition, { needs: ({ params }) => [onTopic(params.topic, "Read")] }, async (c, { params, query }) =>
    withTopic(c.env, params.topic, async (topic) => {
      const url = new URL("https://partition/subscribe");
      url.searchParams.set("offset", String(query.offset));
      url.searchParams.set("format", query.format);
      url.searchParams.set("mode", query.mode);
      url.searchParams.set("isolation", query.isolation);
      url.searchParams.set("topic", topic.name);
      passGrant(url, c.get("grant"));
      return subscribeTo(c.env, topic, params.partition, url, c.req.raw.headers);
    }),
  );
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
