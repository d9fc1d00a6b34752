/**
 * Producer ids, fault injection and the documents about the API itself:
 *
 *   POST /v1/producers      {"transactionalId"?} -> {"producerId", "producerEpoch"} (Kafka's InitProducerId)
 *   POST /v1/admin/faults   fault injection; exists only when EDGELOG_FAULT_INJECTION=on (tests)
 *   GET  /v1/openapi.json   this API's OpenAPI 3.1 document
 */
import { z } from "zod";
import { LIMITS } from "../limits";
import { answer, errors, json, route } from "./schema";

export const initProducer = route({
  method: "post",
  path: "/v1/producers",
  summary: "Get a producer id and epoch for idempotent produce",
  description:
    "Without a transactionalId each call is a new producer at epoch 0. With one, the same producer id comes back with the epoch bumped: batches from older epochs are then PRODUCER_FENCED.",
  tags: ["producers"],
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    body: {
      required: false,
      content: json(
        z.strictObject({
          transactionalId: z
            .string()
            .min(1)
            .max(255)
            .optional()
            .meta({ description: "The same id again bumps the epoch and fences older instances" }),
          "transaction.timeout.ms": z
            .int()
            .min(1)
            .max(900_000)
            .optional()
            .meta({ description: "Kafka's producer setting (default 60000): an ongoing transaction older than this is aborted" }),
        }),
      ),
    },
  },
  responses: { 200: answer("Producer id and epoch", z.strictObject({ producerId: z.int(), producerEpoch: z.int() })), ...errors() },
});

/** The faults a replica can be given (tests only). */
export const FAULT_KINDS = ["none", "unreachable", "slow", "crash-mid-append"] as const;
export const MAX_FAULT_DELAY_MS = 60_000;

export const injectFault = route({
  method: "post",
  path: "/v1/admin/faults",
  summary: "Fault injection (tests only): make a replica unreachable, slow, or crash mid-append",
  description:
    "Exists only when the worker runs with EDGELOG_FAULT_INJECTION=on (the test configuration); otherwise 404 UNSUPPORTED_VERSION, like any unknown route.",
  tags: ["admin"],
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    body: {
      required: true,
      content: json(
        z
          .strictObject({
            topic: z.string(),
            partition: z.int().min(0),
            replica: z.int().min(0),
            fault: z.enum(FAULT_KINDS),
            delayMs: z.int().min(1).max(MAX_FAULT_DELAY_MS).optional().meta({ description: 'Only with fault "slow", which needs it' }),
          })
          .refine((b) => (b.fault === "slow") === (b.delayMs !== undefined), {
            message: 'delayMs goes with fault "slow", and only with it',
            path: ["delayMs"],
          }),
      ),
    },
  },
  responses: {
    200: answer(
      "The fault now in force",
      z.strictObject({
        topic: z.string(),
        partition: z.int(),
        replica: z.int(),
        fault: z.strictObject({ kind: z.enum(FAULT_KINDS), delayMs: z.int().optional() }),
      }),
    ),
    ...errors(),
  },
});

export const openapiDocument = route({
  method: "get",
  path: "/v1/openapi.json",
  summary: "This document",
  tags: ["docs"],
  responses: { 200: answer("OpenAPI 3.1", z.record(z.string(), z.unknown())), ...errors() },
});
