// Formulas as rustdoc wrote them into the HTML pages: what docs/katex/render.js renders in
// the browser (`<code>$…$</code>` outside <pre>, `<pre class="language-math">`), plus every
// `$` left in the text, which means a formula that rustdoc's Markdown has seen (and may have
// damaged: `\,` → `,`, `_x_` → `<em>x</em>`).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** Every `.html` file under `dir`. */
export function htmlFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...htmlFiles(path));
    else if (name.endsWith(".html")) out.push(path);
  }
  return out;
}

const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

export function decode(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === "#") {
      const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(n);
    }
    return NAMED[e.toLowerCase()] ?? m;
  });
}

const hasTag = (s) => /<[a-z/!][^>]*>/i.test(s);

/** Scans one page; pushes formulas (`{ at, tex, display }`) and problems. */
export function scanPage(html, at, formulas, problems) {
  const start = html.indexOf("<body");
  let s = start < 0 ? html : html.slice(start);
  s = s.replace(/<script\b[\s\S]*?<\/script>/gi, " ");
  s = s.replace(/<pre class="language-math"><code>([\s\S]*?)<\/code><\/pre>/g, (m, inner) => {
    if (hasTag(inner)) problems.push({ at, what: "HTML tag inside a math block", tex: inner });
    else formulas.push({ at, tex: decode(inner), display: true });
    return " ";
  });
  s = s.replace(/<pre\b[\s\S]*?<\/pre>/gi, " ");
  s = s.replace(/<code>([\s\S]*?)<\/code>/g, (m, inner) => {
    const text = decode(inner.replace(/<[^>]*>/g, ""));
    if (text.length > 2 && text.startsWith("$") && text.endsWith("$") && !text.startsWith("$$")) {
      if (hasTag(inner)) problems.push({ at, what: "HTML tag inside a formula", tex: inner });
      else formulas.push({ at, tex: text.slice(1, -1), display: false });
    }
    return " ";
  });
  // What is left is prose: a `$` in its text is a formula outside the convention. Pair the
  // dollars across tags so that the report shows what rustdoc made of the formula.
  const parts = s.split(/(<[^>]*>)/);
  let open = null;
  let pos = 0;
  const dollars = [];
  for (const part of parts) {
    if (!part.startsWith("<")) {
      for (let i = part.indexOf("$"); i >= 0; i = part.indexOf("$", i + 1)) dollars.push(pos + i);
    }
    pos += part.length;
  }
  for (const d of dollars) {
    if (open === null) {
      open = d;
      continue;
    }
    const inner = s.slice(open, d + 1);
    const what = hasTag(inner)
      ? "formula outside a `$…$` code span, with HTML tags inside"
      : "formula outside a `$…$` code span";
    problems.push({ at, what, tex: inner.length > 400 ? inner.slice(0, 400) + "…" : inner });
    open = null;
  }
  if (open !== null) problems.push({ at, what: "unpaired `$` in the text", tex: s.slice(open, open + 80) });
}

/** `{ formulas, problems, pages }` for every page under the crate folders `dirs`. */
export function scanHtml(dirs, root) {
  const formulas = [];
  const problems = [];
  let pages = 0;
  for (const dir of dirs) {
    for (const path of htmlFiles(dir)) {
      pages++;
      scanPage(readFileSync(path, "utf8"), relative(root, path), formulas, problems);
    }
  }
  return { formulas, problems, pages };
}
