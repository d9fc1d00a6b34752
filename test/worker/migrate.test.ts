/**
 * State persisted by an older version keeps working: missing columns are added with their
 * defaults, and the controller opens a registry made before `ready`/`config_version` existed.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { addMissingColumns } from "../../worker/storage/migrate";

it("adds a column an older table lacks, with its default for existing rows, and leaves present ones alone", async () => {
  const stub = env.CONTROLLER.get(env.CONTROLLER.idFromName("migrate-probe"));
  const rows = await runInDurableObject(stub, async (_instance, ctx) => {
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE old_topics (name TEXT PRIMARY KEY)");
    sql.exec("INSERT INTO old_topics (name) VALUES ('before')");
    addMissingColumns(sql, "old_topics", { ready: "INTEGER NOT NULL DEFAULT 1" });
    addMissingColumns(sql, "old_topics", { ready: "INTEGER NOT NULL DEFAULT 1" }); // twice is harmless
    sql.exec("INSERT INTO old_topics (name, ready) VALUES ('after', 0)");
    return sql.exec("SELECT name, ready FROM old_topics ORDER BY name").toArray();
  });
  expect(rows).toEqual([
    { name: "after", ready: 0 },
    { name: "before", ready: 1 },
  ]);
});
