/**
 * Compares an answer the README shows with the answer a real server gave, structurally.
 *
 * Shown answers are JSON in which `…` stands for what cannot be stable (see readme-blocks.ts):
 *   {"offset":0,"timestamp":…,"key":"device-7"}   any value at "timestamp"
 *   {"partitions":[{"partition":0,…},…],…}        more members, more elements
 *   {"memberId":"5c39…"}                          any string, bound to the name "5c39…"
 * Fields that can never be stable are matched by type even when the README writes a value
 * (UNSTABLE_KEYS), and an error's `message` is matched by type only: its wording may change, its
 * `code` may not.
 */

const ANY = "\u0000any";
const REST_KEY = "\u0000rest";
const REST = "\u0000rest";

/** Keys whose values differ from run to run: compared by type. */
export const UNSTABLE_KEYS = new Set(["timestamp", "topicId", "memberId", "producerId"]);

/** Parses JSON in which `…` may stand for a value, or end an object or an array. */
export function parseShown(text: string): unknown {
  let out = "";
  const stack: string[] = [];
  let last = ""; // the last significant character outside strings
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
      last = '"';
      continue;
    }
    if (c === "…") {
      const top = stack[stack.length - 1];
      if (last === ":" || top === undefined) out += JSON.stringify(ANY);
      else if (top === "{") out += `${JSON.stringify(REST_KEY)}:0`;
      else out += JSON.stringify(REST);
      last = '"';
      continue;
    }
    if (c === "{" || c === "[") stack.push(c);
    if (c === "}" || c === "]") stack.pop();
    if (!/\s/.test(c)) last = c;
    out += c;
  }
  try {
    return JSON.parse(out);
  } catch (e) {
    throw new Error(`the README's answer is not JSON (with … placeholders): ${(e as Error).message}\n${text}`);
  }
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  throw new Error(`an unterminated string in the README's answer: ${text.slice(start)}`);
}

/**
 * Where `actual` differs from `shown` (a list of "path: what" lines, empty when it matches);
 * binds each "xyz…" placeholder string to the actual string in `bindings`.
 */
export function mismatches(shown: unknown, actual: unknown, bindings: Map<string, string>, path = "$", key = ""): string[] {
  if (shown === ANY) return actual === undefined ? [`${path}: missing`] : [];
  if (typeof shown === "string" && shown.endsWith("…")) {
    if (typeof actual !== "string") return [`${path}: a string was shown (${shown}), got ${JSON.stringify(actual)}`];
    if (shown.length > 1) bindings.set(shown, actual);
    return [];
  }
  if (UNSTABLE_KEYS.has(key) || (key === "message" && path.endsWith(".error.message"))) {
    return typeOf(actual) === typeOf(shown) ? [] : [`${path}: a ${typeOf(shown)} was shown, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: an array was shown, got ${JSON.stringify(actual)}`];
    const open = shown[shown.length - 1] === REST;
    const items = open ? shown.slice(0, -1) : shown;
    if (open ? actual.length < items.length : actual.length !== items.length) {
      return [`${path}: ${items.length}${open ? " or more" : ""} elements were shown, got ${actual.length}: ${JSON.stringify(actual)}`];
    }
    return items.flatMap((item, i) => mismatches(item, actual[i], bindings, `${path}[${i}]`));
  }
  if (shown !== null && typeof shown === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual))
      return [`${path}: an object was shown, got ${JSON.stringify(actual)}`];
    const entries = Object.entries(shown).filter(([k]) => k !== REST_KEY);
    const open = REST_KEY in shown;
    const problems: string[] = [];
    for (const [k, v] of entries) {
      if (!(k in actual)) problems.push(`${path}.${k}: missing`);
      else problems.push(...mismatches(v, (actual as Record<string, unknown>)[k], bindings, `${path}.${k}`, k));
    }
    if (!open) {
      const extra = Object.keys(actual).filter((k) => !(k in shown));
      if (extra.length)
        problems.push(`${path}: keys the README does not show (end the object with … if that is meant): ${extra.join(", ")}`);
    }
    return problems;
  }
  return Object.is(shown, actual) ? [] : [`${path}: ${JSON.stringify(shown)} was shown, got ${JSON.stringify(actual)}`];
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** Lines a ```text block shows match printed lines where `…` stands for any text. */
export function lineMatches(shown: string, printed: string): boolean {
  const pattern = shown
    .split("…")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".+?");
  return new RegExp(`^${pattern}$`).test(printed);
}
