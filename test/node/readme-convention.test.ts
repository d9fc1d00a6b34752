/**
 * The doc test's own rules (test/support/readme-blocks.ts, readme-match.ts): a README answer that
 * is wrong fails, and `…` lets through only what it stands for.
 */
import { describe, expect, it } from "vitest";
import { examples, shellCommands } from "../support/readme-blocks";
import { lineMatches, mismatches, parseShown } from "../support/readme-match";

const check = (shown: string, actual: unknown, bindings = new Map<string, string>()) => mismatches(parseShown(shown), actual, bindings);

describe("a shown answer", () => {
  it("matches only the same keys and values", () => {
    expect(check('{"partition":0,"offset":1}', { partition: 0, offset: 1 })).toEqual([]);
    expect(check('{"partition":2,"offset":0}', { partition: 0, offset: 0 })).toHaveLength(1);
    expect(check('{"partition":0}', { partition: 0, offset: 0 })).toHaveLength(1); // a key not shown
    expect(check('{"partition":0,"offset":0}', { partition: 0 })).toHaveLength(1);
    expect(check("[1,2]", [1, 2, 3])).toHaveLength(1);
    expect(check('{"value":"123"}', { value: 123 })).toHaveLength(1); // "123" stays a string
  });

  it("reads … as any value, as more members of an object, and as more elements of an array", () => {
    expect(check('{"timestamp":…,"key":"k"}', { timestamp: 1, key: "k" })).toEqual([]);
    expect(check('{"timestamp":…,"key":"k"}', { key: "k" })).toHaveLength(1);
    expect(check('{"a":1,…}', { a: 1, b: 2, c: 3 })).toEqual([]);
    expect(check('{"a":1,…}', { a: 2, b: 2 })).toHaveLength(1);
    expect(check('{"p":1,…,"hw":0,…}', { p: 1, x: 0, hw: 0 })).toEqual([]);
    expect(check("[{…},…]", [{ a: 1 }, { b: 2 }])).toEqual([]);
    expect(check("[{…},…]", [])).toHaveLength(1);
  });

  it("binds a placeholder string to the value the server gave, and matches unstable fields and error messages by type", () => {
    const bindings = new Map<string, string>();
    expect(check('{"memberId":"5c39…"}', { memberId: "9de6-real" }, bindings)).toEqual([]);
    expect(bindings.get("5c39…")).toBe("9de6-real");
    expect(check('{"memberId":"5c39…"}', { memberId: 7 })).toHaveLength(1);
    expect(check('{"topicId":"abc"}', { topicId: "xyz" })).toEqual([]);
    const error = '{"error":{"code":"INVALID_REQUEST","message":"reused","retriable":false}}';
    expect(check(error, { error: { code: "INVALID_REQUEST", message: "worded otherwise", retriable: false } })).toEqual([]);
    expect(check(error, { error: { code: "INVALID_RECORD", message: "reused", retriable: false } })).toHaveLength(1);
  });

  it("matches printed lines with … as any text", () => {
    expect(lineMatches("sent to 0 …", "sent to 0 12")).toBe(true);
    expect(lineMatches("sent to 0 2", "sent to 0 3")).toBe(false);
  });
});

describe("the README's layout", () => {
  it("pairs an example with the answer right after it, and refuses an answer that follows no example", () => {
    const md = "## A\n\n```sh\ncurl x\n```\n\n```json\n{}\n```\n\nprose\n\n```ts\nf()\n```\n";
    expect(examples(md).map((e) => [e.code.lang, e.output?.lang, e.code.section])).toEqual([
      ["sh", "json", "A"],
      ["ts", undefined, "A"],
    ]);
    expect(() => examples("```sh\ncurl x\n```\n\nprose\n\n```json\n{}\n```\n")).toThrow(/follows no example/);
  });

  it("reads one command per curl, across continuations and newlines inside quotes, without comments", () => {
    expect(shellCommands("# make it\ncurl -d '{\"a\":\n 1}' x\n\ncurl a \\\n  b\n")).toEqual([
      "curl -d '{\"a\":\n 1}' x",
      "curl a \\\n  b",
    ]);
  });
});
