import { describe, expect, it } from "vitest";
import { nodeFs, pathFromHere } from "./node";

// protocol/ runs in the Worker, in browsers and in Node: Web APIs only.
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+["']node:/, "a node: import"],
  [/from\s+["'](fs|zlib|crypto|buffer|util|stream|path|os)["']/, "a Node built-in import"],
  [/\brequire\s*\(/, "require()"],
  [/\bBuffer\b/, "Buffer"],
  [/\bprocess\./, "process"],
];

describe("protocol/ is runtime-free", () => {
  it("no file under protocol/ imports a Node built-in or uses Buffer, require or process", async () => {
    const fs = await nodeFs();
    const dir = pathFromHere("../../protocol/");
    // With its folders (protocol/wire/).
    const files = fs.readdirSync(dir, { recursive: true }).filter((name) => name.endsWith(".ts"));
    expect(files).toContain("record-batch.ts");
    expect(files).toEqual(expect.arrayContaining(["wire/index.ts", "wire/close-codes.ts", "wire/keys.ts"]));
    for (const file of files) {
      const code = fs
        .readFileSync(dir + file, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/\/\/.*$/gm, "");
      for (const [pattern, what] of FORBIDDEN) expect(pattern.test(code), `${file} uses ${what}`).toBe(false);
    }
  });
});
