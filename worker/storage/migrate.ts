/**
 * Schema upkeep for objects whose SQLite outlives a deploy (and local state under .wrangler/state):
 * `CREATE ... IF NOT EXISTS` makes missing tables and indexes, and this adds columns that a newer
 * version declares but an older table lacks.
 */

/**
 * Adds each missing column with its declaration (which must carry a DEFAULT for existing rows).
 *
 * @example
 * addMissingColumns(sql, "topics", { ready: "INTEGER NOT NULL DEFAULT 1" });
 */
export function addMissingColumns(sql: SqlStorage, table: string, columns: Record<string, string>): void {
  const present = new Set(
    sql
      .exec<{ name: string }>(`PRAGMA table_info(${table})`)
      .toArray()
      .map((c) => c.name),
  );
  for (const [name, declaration] of Object.entries(columns)) {
    if (!present.has(name)) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${declaration}`);
  }
}
