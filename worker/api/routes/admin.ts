/**
 * Producer ids, fault injection, and the API's own documents (declared in protocol/api/admin.ts):
 *
 *   POST /v1/producers      Kafka's InitProducerId: a producer id and epoch for idempotent produce
 *   POST /v1/admin/faults   fault injection (tests only: EDGELOG_FAULT_INJECTION=on)
 *   GET  /v1/openapi.json   the OpenAPI 3.1 document, generated from the route declarations
 *   GET  /docs              an interactive reference (Swagger UI) of that document
 */
import { swaggerUI } from "@hono/swagger-ui";
import { admin as api } from "../../../protocol/api";
import { EdgelogError } from "../../../protocol/errors";
import { controller, topicMetadata } from "../../cluster/metadata";
import { replicaStub } from "../../controller/placement";
import { unwrap } from "../../outcome";
import { type Fault, faultInjectionEnabled } from "../../partition/faults";
import { cluster, deny, may, transactionalId } from "../http/auth";
import { type App, serve } from "../http/serve";
import { accessView } from "../../access/snapshot";
import { txnCoordinator } from "../../txn/stub";
import { DEFAULT_TRANSACTION_TIMEOUT_MS } from "../../txn/transaction";

export function admin(app: App): void {
  serve(
    app,
    api.initProducer,
    // A transactional id needs Write on it. Without one, as Kafka 3: IdempotentWrite on the cluster, or Write on some topic.
    { needs: ({ body }) => (body.transactionalId === undefined ? [] : [transactionalId(body.transactionalId, "Write")]) },
    async (c, { body }) => {
      if (body.transactionalId === undefined && !(await may(c, cluster("IdempotentWrite")))) {
        const grant = c.get("grant");
        if (!(await accessView(c.env)).authorizer.allowedOnAny(grant, "topic", "Write")) {
          deny(c, "POST /v1/producers", cluster("IdempotentWrite"));
        }
      }
      if (body.transactionalId === undefined) return c.json(unwrap(await controller(c.env).initProducerId(undefined)));
      // A transactional id's epochs are its coordinator's: it ends what an older instance left first.
      const timeout = body["transaction.timeout.ms"] ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
      return c.json(unwrap(await txnCoordinator(c.env, body.transactionalId).init(body.transactionalId, timeout)));
    },
  );

  serve(app, api.injectFault, { needs: () => [cluster("Alter")] }, async (c, { body }) => {
    if (!faultInjectionEnabled(c.env)) {
      throw new EdgelogError("UNSUPPORTED_VERSION", "no route for POST /v1/admin/faults; see /v1/openapi.json");
    }
    const fault = (body.fault === "slow" ? { kind: "slow", delayMs: body.delayMs } : { kind: body.fault }) as Fault;
    const topic = await topicMetadata(c.env, body.topic, true);
    const p = topic.partitions[body.partition];
    if (!p) throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic.name}" has no partition ${body.partition}`);
    if (!p.replicas.includes(body.replica)) {
      throw new EdgelogError(
        "INVALID_REQUEST",
        `"replica" must be one of partition ${p.partition}'s replicas ${JSON.stringify(p.replicas)}, got ${body.replica}`,
      );
    }
    const answer = unwrap(await replicaStub(c.env, topic.topicId, p.partition, body.replica).injectFault(fault));
    return c.json({ topic: topic.name, partition: p.partition, replica: body.replica, fault: answer.fault });
  });

  let document: unknown;
  serve(app, api.openapiDocument, { needs: () => [] }, (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "edgelog",
        version: "0.1.0",
        description: "A Kafka-style streaming log on Cloudflare Workers: topics of ordered partitions, each a Durable Object.",
      },
      security: [{ bearer: [] }, {}],
    });
    return c.json(document);
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "Required on every /v1 route once auth is configured: EDGELOG_TOKEN, an API key, or a short-lived JWT",
  });
  app.get("/docs", swaggerUI({ url: "/v1/openapi.json", title: "edgelog API" }));
}
