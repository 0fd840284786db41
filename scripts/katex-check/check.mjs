// Checks the math of the API documentation (README, "Math in the documentation"):
//
//   cargo doc --no-deps && node scripts/katex-check/check.mjs [DOC_DIR]
//
// 1. the vendored KaTeX and both headers are what headers.mjs builds from the pinned package;
// 2. every formula of the doc comments in src/ (and benches/, examples/) follows the
//    convention — private items and feature-gated modules included, which the pages miss;
// 3. every formula of this package's pages under DOC_DIR (default `target/doc`, or
//    `$CARGO_TARGET_DIR/doc`) is where docs/katex/render.js finds it, with no HTML inside,
//    and no `$` is left in the text;
// 4. every formula renders with KaTeX in strict mode (unknown commands, unbalanced braces and
//    non-LaTeX input are errors).
// Prints the counts and every failure with its file and formula; exits 1 on any failure,
// 2 when DOC_DIR has no pages of this package.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import katex from "katex";
import { ROOT, build } from "./headers.mjs";
import { rustFiles, scanSources } from "./sources.mjs";
import { scanHtml } from "./html.mjs";

/** The crate names rustdoc uses for this package: the lib's and every bin's. */
function crateNames() {
  const toml = readFileSync(join(ROOT, "Cargo.toml"), "utf8");
  const names = [];
  for (const section of toml.split(/^\[/m)) {
    if (/^\[?(lib|bin)\]\]?/.test(section)) {
      const m = /^name\s*=\s*"([^"]+)"/m.exec(section);
      if (m) names.push(m[1].replaceAll("-", "_"));
    }
  }
  return names;
}

const failures = [];
const fail = (at, what, tex) => failures.push({ at, what, tex });

// 1. Vendored files and headers.
for (const [path, want] of Object.entries(build())) {
  const full = join(ROOT, path);
  const have = existsSync(full) ? readFileSync(full, "utf8") : null;
  if (have !== want) fail(path, "differs from what scripts/katex-check/headers.mjs builds (run it)", "");
}

// 2. Doc comments.
const srcDirs = ["src", "benches", "examples"].map((d) => join(ROOT, d)).filter(existsSync);
const src = scanSources(srcDirs.flatMap(rustFiles), ROOT);
src.problems.forEach((p) => fail(p.at, p.what, p.tex));

// 3. Pages.
const docDir = process.argv[2] ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "doc");
const crates = crateNames().map((c) => join(docDir, c)).filter(existsSync);
if (!crates.length) {
  console.error(`katex-check: no pages of ${crateNames().join(", ")} under ${docDir}: run \`cargo doc --no-deps\` first`);
  process.exit(2);
}
const html = scanHtml(crates, ROOT);
html.problems.forEach((p) => fail(p.at, p.what, p.tex));

// 4. KaTeX, strict, once per distinct formula.
const verdicts = new Map();
for (const f of [...src.formulas, ...html.formulas]) {
  const key = `${f.display ? "D" : "I"}${f.tex}`;
  if (!verdicts.has(key)) {
    try {
      katex.renderToString(f.tex, { displayMode: f.display, output: "mathml", throwOnError: true, strict: "error" });
      verdicts.set(key, null);
    } catch (e) {
      verdicts.set(key, e.message.replace(/\s+/g, " "));
    }
  }
  const err = verdicts.get(key);
  if (err) fail(f.at, `KaTeX: ${err}`, f.tex);
}

const distinct = verdicts.size;
console.log(
  `katex-check: ${src.formulas.length} formulas in ${src.comments} doc comments of ${src.files} files, ` +
    `${html.formulas.length} in ${html.pages} pages (${distinct} distinct, KaTeX ${katex.version}, strict)`,
);
for (const f of failures) console.log(`${f.at}: ${f.what}${f.tex ? `\n    ${f.tex.replace(/\n/g, "\n    ")}` : ""}`);
if (failures.length) {
  console.log(`katex-check: ${failures.length} failures`);
  process.exit(1);
}
console.log("katex-check: ok");
