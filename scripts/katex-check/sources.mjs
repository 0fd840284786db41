// Formulas of the doc comments (`///`, `//!`) of the Rust sources, by the convention of
// README "Math in the documentation": inline math is a code span `$…$`, display math a
// fenced ```math block. Anything else that looks like math (a bare `$`, a `$$…$$` span) is
// a problem: rustdoc's Markdown would damage it and the pages would not render it.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const DOC_LINE = /^\s*(\/\/\/|\/\/!)(?!\/) ?(.*)$/;
const FENCE = /^\s*(`{3,}|~{3,})\s*([^`\s]*)/;
// A line that begins a list item, heading, quote or setext underline.
const BLOCK_START = /^\s*([-+*]\s|\d{1,9}[.)]\s|#{1,6}\s|>|[=-]+\s*$)/;

/** Every `.rs` file under `dir` (sorted, so reports are stable). */
export function rustFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...rustFiles(path));
    else if (name.endsWith(".rs")) out.push(path);
  }
  return out;
}

/** Runs of consecutive doc lines of one kind: `{ start, lines }`, `start` 0-based. */
function docBlocks(lines) {
  const blocks = [];
  let cur = null;
  lines.forEach((line, i) => {
    const m = DOC_LINE.exec(line);
    if (m && cur && cur.kind === m[1] && cur.end === i) {
      cur.lines.push(m[2]);
      cur.end = i + 1;
    } else if (m) {
      cur = { kind: m[1], start: i, end: i + 1, lines: [m[2]] };
      blocks.push(cur);
    } else {
      cur = null;
    }
  });
  return blocks;
}

/**
 * Scans one Markdown paragraph run (`text`, whose first line is line `line0` of `file`):
 * pushes formulas of code spans and problems with bare `$`.
 */
function scanProse(text, file, line0, formulas, problems) {
  const lineOf = (pos) => line0 + text.slice(0, pos).split("\n").length;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") {
      i += 2; // a Markdown escape (`\$` is a literal dollar)
    } else if (c === "`") {
      let k = i;
      while (text[k] === "`") k++;
      const run = k - i;
      let j = k;
      let close = -1;
      while (j < text.length) {
        if (text[j] !== "`") {
          j++;
          continue;
        }
        let e = j;
        while (text[e] === "`") e++;
        if (e - j === run) {
          close = j;
          break;
        }
        j = e;
      }
      if (close < 0) {
        i = k;
        continue;
      }
      const raw = text.slice(k, close);
      const code = raw.replace(/\n/g, " ");
      const at = `${file}:${lineOf(i)}`;
      // A continuation line that Markdown reads as a new block cuts the span in two.
      const cut = raw.split("\n").slice(1).find((l) => BLOCK_START.test(l));
      if (code.startsWith("$") && cut !== undefined) {
        problems.push({ at, what: `a line of this formula starts a Markdown block: \`${cut.trim()}\``, tex: code });
        i = close + run;
        continue;
      }
      if (code.startsWith("$$") && code.endsWith("$$") && code.length > 4) {
        problems.push({ at, what: "display math in a code span (use a ```math block)", tex: code });
      } else if (code.length > 2 && code.startsWith("$") && code.endsWith("$")) {
        formulas.push({ at, tex: code.slice(1, -1), display: false });
      }
      i = close + run;
    } else if (c === "$") {
      const end = text.indexOf("$", i + 1);
      const tex = end < 0 ? text.slice(i, i + 60) : text.slice(i, end + 1);
      problems.push({ at: `${file}:${lineOf(i)}`, what: "formula outside a `$…$` code span", tex });
      i = end < 0 ? text.length : end + 1;
    } else {
      i++;
    }
  }
}

/** `{ formulas, problems, files, comments }` for the doc comments of `files`. */
export function scanSources(files, root) {
  const formulas = [];
  const problems = [];
  let comments = 0;
  for (const path of files) {
    const file = relative(root, path);
    const lines = readFileSync(path, "utf8").split("\n");
    for (const block of docBlocks(lines)) {
      comments++;
      let prose = [];
      let proseStart = 0;
      const flush = () => {
        if (prose.length) scanProse(prose.join("\n"), file, block.start + proseStart, formulas, problems);
        prose = [];
      };
      for (let k = 0; k < block.lines.length; k++) {
        const fence = FENCE.exec(block.lines[k]);
        if (!fence) {
          if (!prose.length) proseStart = k;
          prose.push(block.lines[k]);
          continue;
        }
        flush();
        const [, marker, lang] = fence;
        const body = [];
        let closed = false;
        const open = k;
        for (k++; k < block.lines.length; k++) {
          const t = block.lines[k].trim();
          if (t.startsWith(marker[0].repeat(marker.length)) && /^(`+|~+)$/.test(t)) {
            closed = true;
            break;
          }
          body.push(block.lines[k]);
        }
        const at = `${file}:${block.start + open + 1}`;
        if (!closed) problems.push({ at, what: "code block not closed", tex: "" });
        if (lang === "math") formulas.push({ at, tex: body.map((l) => l.trim()).join("\n"), display: true });
      }
      flush();
    }
  }
  return { formulas, problems, files: files.length, comments };
}
