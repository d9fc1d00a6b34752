/**
 * WebSocket push of a partition (see worker/partition/push.ts for frames and flow control):
 *
 *   GET /v1/topics/{topic}/partitions/{p}/subscribe?offset=N&format=json|binary&mode=push|credit
 *       (Upgrade: websocket)
 *
 * The worker validates and forwards the upgrade to the partition's leader object, which accepts
 * the socket with the hibernation API and becomes its server. When leadership moves, the old
 * leader closes its sockets with 4006 and the offset to resume from; reconnecting reaches the new one.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import { withTopic } from "../../cluster/metadata";
import type { Env } from "../../env";
import { subscribeTo } from "../../cluster/partition-client";
import { offsetParam, partitionParam } from "./fetch-params";

export const subscribe = new Hono<{ Bindings: Env }>();

subscribe.get("/v1/topics/:topic/partitions/:partition/subscribe", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new EdgelogError("INVALID_REQUEST", "this route upgrades to a WebSocket: send Upgrade: websocket");
  }
  const partition = partitionParam(c.req.param("partition"));
  const offset = offsetParam(c.req.query("offset"));
  const format = c.req.query("format") ?? "json";
  if (format !== "json" && format !== "binary") throw new EdgelogError("INVALID_REQUEST", `format must be json or binary, got ${JSON.stringify(format)}`);
  const mode = c.req.query("mode") ?? "push";
  if (mode !== "push" && mode !== "credit") throw new EdgelogError("INVALID_REQUEST", `mode must be push or credit, got ${JSON.stringify(mode)}`);
  return withTopic(c.env, c.req.param("topic"), async (topic) => {
    const url = new URL("https://partition/subscribe");
    url.searchParams.set("offset", String(offset));
    url.searchParams.set("format", format);
    url.searchParams.set("mode", mode);
    return subscribeTo(c.env, topic, partition, url, c.req.raw.headers);
  });
});
