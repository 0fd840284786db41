#!/bin/sh
# Usage: sh assumptions.sh Assumptions.v assumptions.log axioms.allow
# Checks the output of `Print Assumptions` for every main theorem listed in
# Assumptions.v: each one must print either "Closed under the global context" or
# an "Axioms:" block whose every axiom is named in the allow-list; any other
# axiom (or section variable, or admitted lemma, which Coq lists as an axiom)
# fails the check.
src=$1; log=$2; allow=$3
n=$(grep -c '^Print Assumptions ' "$src")
closed=$(grep -c '^Closed under the global context$' "$log")
blocks=$(grep -c '^Axioms:$' "$log")
other=$(grep -c -E '^(Section Variables|Opaque constants|Transparent constants):' "$log")
# names of listed axioms: lines inside an Axioms: block starting in column 0
used=$(awk '
  /^Axioms:$/ { inax = 1; next }
  /^Closed under the global context$/ { inax = 0; next }
  /^[^ \t]/ { if (inax) { split($0, w, /[ \t]/); print w[1] } }
' "$log" | sort -u)
bad=""
for a in $used; do
  if ! grep -v '^#' "$allow" | grep -qx "$a"; then bad="$bad $a"; fi
done
if [ "$n" -gt 0 ] && [ $((closed + blocks)) -eq "$n" ] && [ "$other" -eq 0 ] && [ -z "$bad" ]; then
  echo "assumptions: all $n main theorems checked: $closed closed under the global context," \
       "$blocks using only the allowed axioms ($(echo $used | tr '\n' ' '))"
else
  echo "assumptions: FAILED: $n main theorems, $closed closed, $blocks with axioms," \
       "$other with section variables or constants; axioms not allowed:${bad:- none}"
  exit 1
fi
