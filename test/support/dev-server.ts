/**
 * Starts a real `wrangler dev` for Node-side tests and the benchmark, and stops it cleanly.
 *
 * The server runs in a process group of its own (detached), so stopping it stops npm, node and
 * both workerd processes at once (kill -TERM -- -PGID). State persists in `persistTo`, so a test
 * can stop the server and start it again on the same directory to prove state is rebuilt from
 * SQLite.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface DevServer {
  url: string;
  port: number;
  persistTo: string;
  pgid: number;
  /** Resident memory in bytes: of the workerd processes (the server itself), and of the whole group (with wrangler's node). */
  memory(): { workerdRss: number; groupRss: number };
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port?: number;
  persistTo?: string;
  vars?: Record<string, string>;
  /** How long to wait for "Ready" (ms). */
  startTimeoutMs?: number;
}

/** A free-ish port from a range unlikely to collide with `npm start` (8787). */
export function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}

/**
 * Starts `wrangler dev` on 127.0.0.1 and resolves once it answers HTTP.
 *
 * @example
 * const server = await startDevServer();
 * await fetch(`${server.url}/v1/topics`);
 * await server.stop();
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? randomPort();
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), "edgelog-state-"));
  const args = ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo, "--inspector-port", "0"];
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  const child: ChildProcess = spawn("npx", args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const pgid = child.pid!;
  // If this process ends without stop() (a crash, an unsettled promise), take the server with it:
  // an orphaned workerd would keep a core busy and skew every later measurement.
  const orphanGuard = () => killGroup(pgid, "SIGKILL");
  process.once("exit", orphanGuard);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let exited = false;
  child.on("exit", () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      killGroup(pgid);
      throw new Error(`wrangler dev did not answer within the start timeout:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    persistTo,
    pgid,
    memory: () => groupMemory(pgid),
    stop: async () => {
      process.removeListener("exit", orphanGuard);
      if (exited) return;
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      killGroup(pgid);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) killGroup(pgid, "SIGKILL");
      // workerd children may outlive npm by a moment: wait until the group is empty.
      for (let i = 0; i < 50 && groupPids(pgid).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    },
  };
}

function killGroup(pgid: number, signal: NodeJS.Signals = "SIGTERM"): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Pids whose process group is `pgid` (Linux /proc). */
function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function groupMemory(pgid: number): { workerdRss: number; groupRss: number } {
  let workerdRss = 0;
  let groupRss = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      groupRss += rss;
      if (/^Name:\s+workerd$/m.test(status)) workerdRss += rss;
    } catch {
      // exited meanwhile
    }
  }
  return { workerdRss, groupRss };
}
