// Renders the math of this crate's API documentation as MathML with KaTeX (README, "Math in
// the documentation"): an inline code span `$…$` and a fenced ```math block. The header that
// carries this script either inlines KaTeX before it (docs/katex-header.html) or leaves it to
// be loaded from rustdoc's static files (docs/katex/header.html, copied there by
// scripts/rustdoc-katex). Search results, added later, are rendered as they appear.
(function () {
  "use strict";
  var loading = null;

  function formulas(root) {
    var found = [];
    root.querySelectorAll("pre.language-math, code").forEach(function (el) {
      if (el.tagName === "PRE") {
        found.push({ el: el.closest(".example-wrap") || el, tex: el.textContent, display: true });
        return;
      }
      if (el.closest("pre")) return;
      var t = el.textContent;
      if (t.length > 2 && t[0] === "$" && t[1] !== "$" && t[t.length - 1] === "$") {
        found.push({ el: el, tex: t.slice(1, -1), display: false });
      }
    });
    return found;
  }

  // A search result's summary comes from the search index, where rustdoc writes a code span
  // `$…$` as plain text: its formulas are put back into code spans first.
  function searchFormulas() {
    var found = [];
    document.querySelectorAll(".search-results .desc").forEach(function (desc) {
      var walker = document.createTreeWalker(desc, NodeFilter.SHOW_TEXT);
      var texts = [];
      while (walker.nextNode()) texts.push(walker.currentNode);
      texts.forEach(function (node) {
        var parts = node.data.split(/\$([^$]+)\$/);
        if (parts.length < 3 || node.parentElement.closest("code, .math")) return;
        var frag = document.createDocumentFragment();
        parts.forEach(function (p, i) {
          if (i % 2 === 0) {
            if (p) frag.appendChild(document.createTextNode(p));
            return;
          }
          var code = document.createElement("code");
          code.textContent = "$" + p + "$";
          frag.appendChild(code);
          found.push({ el: code, tex: p, display: false });
        });
        node.replaceWith(frag);
      });
    });
    return found;
  }

  function render(list) {
    list.forEach(function (f) {
      if (!f.el.isConnected) return;
      var out = document.createElement(f.display ? "div" : "span");
      out.className = "math";
      if (f.display) out.style.cssText = "margin: 0.75em 0; overflow-x: auto";
      try {
        katex.render(f.tex, out, { displayMode: f.display, output: "mathml", throwOnError: false });
      } catch (e) {
        return; // left as code: the LaTeX stays readable
      }
      f.el.replaceWith(out);
    });
  }

  function withKatex(go) {
    if (window.katex) return go();
    if (!loading) {
      loading = [];
      var vars = document.querySelector('meta[name="rustdoc-vars"]');
      var s = document.createElement("script");
      s.src = ((vars && vars.dataset.staticRootPath) || "") + "katex.min.js";
      s.onload = function () {
        loading.forEach(function (f) { f(); });
      };
      document.head.appendChild(s);
    }
    loading.push(go);
  }

  function renderIn(root) {
    var list = formulas(root).concat(searchFormulas());
    if (list.length) withKatex(function () { render(list); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderIn(document.body);
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        r.addedNodes.forEach(function (n) {
          if (n.nodeType === 1 && n.className !== "math") renderIn(n);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
