#!/usr/bin/env bash
# Mutation testing of the checkers with cargo-mutants (docs/testing.md).
#
#   scripts/mutants.sh                      every group, every mutant (hours on 2 cores)
#   scripts/mutants.sh --shard 0/40         one fortieth of each group's mutants (round-robin
#                                           over the unshuffled list: a systematic sample)
#   scripts/mutants.sh dyadic refute        only these groups
#   MUTANTS_IN_PLACE=1 scripts/mutants.sh   mutate this tree in place (a scratch checkout
#                                           whose build folder is already warm); otherwise
#                                           cargo-mutants copies the tree for every group
#
# Each group mutates some source files and runs only the test binaries that exercise them
# (the whole `cargo test` takes minutes per mutant). Results: mutants.out/<group>/ as
# cargo-mutants writes it (caught.txt, missed.txt, timeout.txt, unviable.txt,
# outcomes.json) and a summary table on stdout. Survivors that are equivalent mutants are
# listed with their reason in docs/testing.md. Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -q "$VERSION"; then
  cargo install --locked cargo-mutants --version "$VERSION"
fi

shard=()
chosen=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shard) shard=(--shard "$2"); shift 2 ;;
    --shard=*) shard=(--shard "${1#--shard=}"); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) chosen+=("$1"); shift ;;
  esac
done

# group | files (cargo-mutants -f globs, space-separated) | test binaries
groups=(
  "ssm|src/ssm/**|--lib --test views --test constructions --test bounds --test errors"
  "theorems|src/theorems/**|--lib --test views --test constructions --test bounds --test family --test ssd_theory --test semiseparable --test check_case"
  "construct|src/construct/**|--lib --test constructions --test semiseparable --test interchange"
  "semiseparable|src/semiseparable.rs|--lib --test semiseparable --test constructions"
  "refute|src/refute/**|--lib --test refute --test api"
  "interval|src/interval.rs|--lib --test constructions --test refute"
  "dyadic|src/dyadic.rs|--lib --test refute"
  "report|src/report.rs|--lib --test refute --test api --test cli"
)

known=" $(printf '%s\n' "${groups[@]}" | cut -d'|' -f1 | tr '\n' ' ')"
for c in "${chosen[@]+"${chosen[@]}"}"; do
  case "$known " in
    *" $c "*) ;;
    *) echo "error: unknown group $c (groups:$known)" >&2; exit 2 ;;
  esac
done

place=()
if [ "${MUTANTS_IN_PLACE:-0}" = 1 ]; then place=(--in-place); fi

mkdir -p mutants.out
for g in "${groups[@]}"; do
  IFS='|' read -r name files tests <<<"$g"
  if [ ${#chosen[@]} -gt 0 ] && [[ " ${chosen[*]} " != *" $name "* ]]; then continue; fi
  fargs=()
  for f in $files; do fargs+=(-f "$f"); done
  echo "== $name: $files; tests: $tests"
  # shellcheck disable=SC2086 # the test list is a word list on purpose
  cargo mutants --no-shuffle "${place[@]+"${place[@]}"}" "${shard[@]+"${shard[@]}"}" \
    "${fargs[@]}" --output "mutants.out/$name" -- $tests || true
done

count() { [ -f "$1" ] && grep -c . "$1" || echo 0; }
printf '\n%-14s %7s %7s %7s %9s %8s\n' group caught missed timeout unviable score
tc=0 tm=0 tt=0
for g in "${groups[@]}"; do
  name="${g%%|*}"
  d="mutants.out/$name/mutants.out"
  [ -d "$d" ] || continue
  c=$(count "$d/caught.txt") m=$(count "$d/missed.txt") t=$(count "$d/timeout.txt") u=$(count "$d/unviable.txt")
  tc=$((tc + c)) tm=$((tm + m)) tt=$((tt + t))
  v=$((c + m + t))
  printf '%-14s %7d %7d %7d %9d %7s%%\n' "$name" "$c" "$m" "$t" "$u" \
    "$([ "$v" -gt 0 ] && echo $(((c + t) * 1000 / v)) | sed 's/.$/.&/' || echo -)"
done
v=$((tc + tm + tt))
if [ "$v" -gt 0 ]; then
  echo "all: $((tc + tt)) of $v viable mutants caught (timeouts count as caught): $(((tc + tt) * 1000 / v)) per mille"
  echo "survivors: mutants.out/*/mutants.out/missed.txt"
fi
