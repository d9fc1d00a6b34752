/**
 * Producer ids for idempotent producers (Kafka's InitProducerId):
 *
 *   POST /v1/producers  {"transactionalId"?: "sensor-17"}  -> {"producerId", "producerEpoch"}
 *
 * Without a transactionalId each call is a new producer at epoch 0. With one, the same producer
 * id comes back with the epoch bumped: batches from older epochs are then PRODUCER_FENCED, so a
 * zombie instance of a restarted producer cannot write.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import { controller } from "../../cluster/metadata";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";
import { onlyFields, readJsonObject } from "../http/params";
import { unwrap } from "../../outcome";

export const producers = new Hono<{ Bindings: Env }>();

producers.post("/v1/producers", async (c) => {
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes, { optional: true });
  onlyFields(body, ["transactionalId"]);
  const { transactionalId } = body;
  if (transactionalId !== undefined && (typeof transactionalId !== "string" || transactionalId.length === 0 || transactionalId.length > 255)) {
    throw new EdgelogError("INVALID_REQUEST", "transactionalId must be a string of 1 to 255 characters");
  }
  return c.json(unwrap(await controller(c.env).initProducerId(transactionalId as string | undefined)));
});
