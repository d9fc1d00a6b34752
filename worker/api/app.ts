/**
 * The HTTP API: Hono routes under /v1, behind auth, with one error handler.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../protocol/errors";
import type { Env } from "../env";
import { auth } from "./http/auth";
import { errorResponse } from "./http/errors";
import { openapi } from "./routes/openapi";
import { batches } from "./routes/batches";
import { faults } from "./routes/faults";
import { groups } from "./routes/groups";
import { offsets } from "./routes/offsets";
import { producers } from "./routes/producers";
import { records } from "./routes/records";
import { subscribe } from "./routes/subscribe";
import { topics } from "./routes/topics";

export function createApp() {
  const app = new Hono<{ Bindings: Env }>();
  app.use("/v1/*", auth);
  app.route("/", topics);
  app.route("/", records);
  app.route("/", batches);
  app.route("/", offsets);
  app.route("/", producers);
  app.route("/", groups);
  app.route("/", subscribe);
  app.route("/", faults);
  app.route("/", openapi);
  app.get("/", (c) =>
    c.json({ name: "edgelog", docs: "/v1/openapi.json", topics: "/v1/topics" }),
  );
  app.notFound((c) => errorResponse(new EdgelogError("UNSUPPORTED_VERSION", `no route for ${c.req.method} ${new URL(c.req.url).pathname}; see /v1/openapi.json`)));
  app.onError((err) => errorResponse(err));
  return app;
}
