/**
 * The few Node facilities the protocol tests need, typed narrowly.
 *
 * The repository carries no @types/node on purpose (protocol/ must stay free of Node built-ins),
 * so tests reach Node through these small, explicitly typed doors instead of ambient Node types.
 */

interface NodeBufferStatic {
  from(bytes: Uint8Array): Uint8Array;
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array;
  isBuffer(value: unknown): boolean;
}

/** Node's Buffer, which kafkajs's encoder needs for keys and values (it stringifies anything else). */
export const NodeBuffer = (globalThis as unknown as { Buffer: NodeBufferStatic }).Buffer;

/** A Buffer view of `bytes` (no copy), for kafkajs's decoder, which calls Buffer methods. */
export function asBuffer(bytes: Uint8Array): Uint8Array {
  return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A Buffer copy of `bytes`, or null. */
export function toBuffer(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : NodeBuffer.from(bytes);
}

/** An environment variable of the test process. */
export function env(name: string): string | undefined {
  return (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env[name];
}

export interface NodeFs {
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(path: string, text: string): void;
  readdirSync(path: string, options?: { recursive?: boolean }): string[];
}

/** node:fs, loaded at run time. */
export async function nodeFs(): Promise<NodeFs> {
  const specifier = "node:fs";
  return (await import(/* @vite-ignore */ specifier)) as NodeFs;
}

/** Absolute path of `relative`, resolved against this directory (test/protocol/). */
export function pathFromHere(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}
