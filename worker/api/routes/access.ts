/**
 * Access administration (declared in protocol/api/access.ts): API keys, ACL bindings, client
 * quotas, kept by the Access object (worker/access/access-do.ts). As in Kafka, managing ACLs and
 * keys needs Alter on the cluster (Describe to list them), quotas AlterConfigs (DescribeConfigs
 * to list them). A key for a superuser principal only a superuser may create. Every change is
 * recorded in __audit and drops this isolate's cached access state, so it applies here at once.
 */
import { access as api } from "../../../protocol/api";
import { EdgelogError } from "../../../protocol/errors";
import { accessConfig } from "../../access/config";
import { accessObject, forgetAccess } from "../../access/snapshot";
import { unwrap } from "../../outcome";
import { cluster, refuse } from "../http/auth";
import { type App, serve } from "../http/serve";

export function access(app: App): void {
  serve(app, api.createKey, { needs: () => [cluster("Alter")], audit: true }, async (c, { body }) => {
    if (accessConfig(c.env).superusers.has(body.principal) && !c.get("grant").superuser) {
      refuse(
        c,
        "POST /v1/admin/keys",
        new EdgelogError("CLUSTER_AUTHORIZATION_FAILED", `only a superuser may create a key for the superuser ${body.principal}`),
      );
    }
    const key = await accessObject(c.env).createKey(body.principal, body.description ?? null);
    forgetAccess();
    return c.json(key, 201);
  });

  serve(app, api.listKeys, { needs: () => [cluster("Describe")] }, async (c) => c.json({ keys: await accessObject(c.env).listKeys() }));

  serve(app, api.revokeKey, { needs: () => [cluster("Alter")], audit: true }, async (c, { params }) => {
    unwrap(await accessObject(c.env).revokeKey(params.keyId));
    forgetAccess();
    return c.json({ keyId: params.keyId, revoked: true as const });
  });

  serve(app, api.createAcl, { needs: () => [cluster("Alter")], audit: true }, async (c, { body }) => {
    const binding = await accessObject(c.env).createAcl(body);
    forgetAccess();
    return c.json(binding, 201);
  });

  serve(app, api.listAcls, { needs: () => [cluster("Describe")] }, async (c, { query }) =>
    c.json({ acls: await accessObject(c.env).listAcls(query) }),
  );

  serve(app, api.deleteAcls, { needs: () => [cluster("Alter")], audit: true }, async (c, { body }) => {
    const deleted = await accessObject(c.env).deleteAcls(body);
    forgetAccess();
    return c.json({ deleted });
  });

  serve(app, api.setQuotas, { needs: () => [cluster("AlterConfigs")], audit: true }, async (c, { params, body }) => {
    const entry = await accessObject(c.env).setQuotas(params.entity, body);
    forgetAccess();
    return c.json(entry);
  });

  serve(app, api.listQuotas, { needs: () => [cluster("DescribeConfigs")] }, async (c) =>
    c.json({ quotas: await accessObject(c.env).listQuotas() }),
  );

  serve(app, api.deleteQuotas, { needs: () => [cluster("AlterConfigs")], audit: true }, async (c, { params }) => {
    unwrap(await accessObject(c.env).deleteQuotas(params.entity));
    forgetAccess();
    return c.json({ entity: params.entity, deleted: true as const });
  });
}
