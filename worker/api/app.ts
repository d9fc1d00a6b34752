/**
 * The HTTP API: the routes declared in protocol/api/, served under /v1 behind the cross-origin
 * rules (http/cors.ts: preflights answer without credentials) and auth, with one error handler.
 * Each route module calls `serve` (http/serve.ts), which validates requests with the route's
 * schemas and registers it in the OpenAPI document (/v1/openapi.json, /docs).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { EdgelogError } from "../../protocol/errors";
import { type AppEnv, auth } from "./http/auth";
import { crossOrigin } from "./http/cors";
import { errorResponse } from "./http/errors";
import { access } from "./routes/access";
import { admin } from "./routes/admin";
import { groups } from "./routes/groups";
import { records } from "./routes/records";
import { topics } from "./routes/topics";
import { transactions } from "./routes/transactions";

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.use("/v1/*", crossOrigin);
  app.use("/v1/*", auth);
  topics(app);
  records(app);
  groups(app);
  admin(app);
  access(app);
  transactions(app);
  app.get("/", (c) => c.json({ name: "edgelog", docs: "/docs", openapi: "/v1/openapi.json", topics: "/v1/topics" }));
  app.notFound((c) =>
    errorResponse(
      new EdgelogError("UNSUPPORTED_VERSION", `no route for ${c.req.method} ${new URL(c.req.url).pathname}; see /v1/openapi.json`),
    ),
  );
  app.onError((err) => errorResponse(err));
  return app;
}
