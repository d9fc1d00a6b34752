/**
 * Reads README.md as a list of examples, for the doc test (test/node/readme-examples.test.ts).
 *
 * The convention, visible in the README itself:
 * - A fenced ```sh block of `curl` commands is run, command by command, against a real server
 *   (`localhost:8787` and `127.0.0.1:8787` point at it). A command with no answer shown must
 *   succeed (HTTP status below 400).
 * - A fenced ```json block right after it (blank lines only in between) is the answer of the
 *   block's last command; a ```http block is the same answer with its status line and the headers
 *   that matter, as `curl -i` prints them.
 * - A fenced ```ts, ```js or ```html block (the page's `<script type="module">`) is run in Node
 *   against the same server; a ```text block right after it is what it prints with console.log.
 * - In a shown answer `…` stands for what cannot be stable: as a value, any value; as the last
 *   member of an object or array, "and more"; a string ending in `…` ("5c39…") any string, which
 *   later commands may use by the same name (the reader pastes their own id there).
 */

export interface Block {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The ## heading the block sits under. */
  section: string;
}

export interface Example {
  code: Block;
  /** The answer shown right after it, if any. */
  output?: Block;
}

const OUTPUT_LANGS = new Set(["json", "http", "text"]);

/** Every fenced block of a Markdown text, in order. */
export function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const heading = /^##\s+(.*)$/.exec(lines[i]);
    if (heading) section = heading[1].trim();
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`README line ${start + 1}: a fence that never closes`);
    blocks.push({ lang: open[1], text: body.join("\n"), line: start + 1, section });
  }
  return blocks;
}

/**
 * Pairs each code block with the answer block that follows it. An answer block that follows no
 * code block is an error: an answer nobody checks.
 */
export function examples(markdown: string): Example[] {
  const lines = markdown.split("\n");
  const blocks = fencedBlocks(markdown);
  const out: Example[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i];
    if (OUTPUT_LANGS.has(block.lang))
      throw new Error(`README line ${block.line}: a \`\`\`${block.lang} answer that follows no example right before it`);
    const next = blocks[i + 1];
    const closing = block.line + block.text.split("\n").length; // 0-based index of the closing fence
    const adjacent = next && lines.slice(closing + 1, next.line - 1).every((l) => l.trim() === "");
    if (next && adjacent && OUTPUT_LANGS.has(next.lang)) {
      out.push({ code: block, output: next });
      i++;
    } else out.push({ code: block });
  }
  return out;
}

/**
 * The commands of a shell block: comments and blank lines dropped, `\` continuations and
 * newlines inside quotes joined into one command.
 */
export function shellCommands(text: string): string[] {
  const commands: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    if (current === "" && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    current += (current ? "\n" : "") + line;
    if (openQuote(current)) continue;
    if (/\\\s*$/.test(current)) continue;
    commands.push(current);
    current = "";
  }
  if (current) throw new Error(`an unfinished command: ${current}`);
  return commands;
}

function openQuote(s: string): boolean {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i++;
  }
  return quote !== null;
}
