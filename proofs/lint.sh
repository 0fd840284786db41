#!/bin/sh
# Usage: sh lint.sh FILE.v...
# Fails if a Coq source admits a proof (Admitted, admit, give_up), declares
# an axiom (Axiom, Conjecture, ...), or declares Parameter/Hypothesis/Variable
# outside a Section (which would also be an axiom).  Comments are ignored.
status=0
for f in "$@"; do
  awk -v file="$f" '
    function word(s, w) {
      return s ~ ("(^|[^A-Za-z0-9_\047])" w "([^A-Za-z0-9_\047]|$)")
    }
    BEGIN { depth = 0; top = 0; bad = 0 }
    {
      # Strip (possibly nested, possibly multi-line) comments.
      out = ""
      n = length($0)
      for (k = 1; k <= n; k++) {
        two = substr($0, k, 2)
        if (two == "(*") { depth++; k++; continue }
        if (two == "*)" && depth > 0) { depth--; k++; continue }
        if (depth == 0) out = out substr($0, k, 1)
      }
      line = out
      if (word(line, "Admitted") || word(line, "admit") || word(line, "give_up") ||
          word(line, "Axiom") || word(line, "Axioms") || word(line, "Conjecture")) {
        printf "%s:%d: forbidden: %s\n", file, NR, $0; bad = 1
      }
      if (line ~ /^[ \t]*Section[ \t]/) stack[++top] = "S"
      else if (line ~ /^[ \t]*Module[ \t]/ && line !~ /:=/) stack[++top] = "M"
      else if (line ~ /^[ \t]*End[ \t]/ && top > 0) top--
      insec = 0
      for (s = 1; s <= top; s++) if (stack[s] == "S") insec = 1
      if (!insec && (word(line, "Parameter") || word(line, "Parameters") ||
                     word(line, "Hypothesis") || word(line, "Hypotheses") ||
                     word(line, "Variable") || word(line, "Variables"))) {
        printf "%s:%d: outside a Section: %s\n", file, NR, $0; bad = 1
      }
    }
    END { exit bad }
  ' "$f" || status=1
done
if [ "$status" -eq 0 ]; then echo "lint: no Admitted/admit/axioms in $#" "file(s)"; fi
exit $status
