#!/usr/bin/env bash
# Everything the GPU path owes, in one call on a machine with an NVIDIA GPU:
# build with --features cuda, run the GPU tests, `hattn gpu info`, `hattn gpu check`
# and `hattn gpu bench --json`, and write every output to a folder.
#
#   scripts/gpu-check.sh [OUTPUT_DIR]      (default: $OUT, else ./gpu-check-out)
#
# Environment:
#   INSTANCES (default 1048576), CHECK_LEN (256), CHECK_STATE (16), SEED (0)
#   CARGO_FLAGS  extra cargo flags, e.g. "--offline" on a machine without network
# Needs the NVIDIA driver (libcuda) and NVRTC 12.x (libnvrtc.so.12) on the library path.
# Exit status: 0 when every step passed, else the number of failed steps.
set -uo pipefail
cd "$(dirname "$0")/.."

out="${1:-${OUT:-gpu-check-out}}"
mkdir -p "$out"
instances="${INSTANCES:-1048576}"
len="${CHECK_LEN:-256}"
state="${CHECK_STATE:-16}"
seed="${SEED:-0}"
read -r -a cargo_flags <<<"${CARGO_FLAGS:-}"
failed=0
: >"$out/summary.txt"

# step NAME COMMAND...: stdout and stderr to $out/NAME.log; status to summary.txt
step() {
  local name="$1" start=$SECONDS rc
  shift
  echo "== $name: $*" | tee -a "$out/summary.txt"
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  echo "   exit $rc after $((SECONDS - start)) s" | tee -a "$out/summary.txt"
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    tail -n 20 "$out/$name.log"
  fi
}

# step_json NAME COMMAND...: stdout to $out/NAME.json, stderr to $out/NAME.stderr.log
step_json() {
  local name="$1" start=$SECONDS rc
  shift
  echo "== $name: $* > $name.json" | tee -a "$out/summary.txt"
  "$@" >"$out/$name.json" 2>"$out/$name.stderr.log"
  rc=$?
  echo "   exit $rc after $((SECONDS - start)) s" | tee -a "$out/summary.txt"
  if [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
    tail -n 20 "$out/$name.stderr.log"
  fi
}

{
  date -u
  uname -a
  nvidia-smi 2>&1 || echo "nvidia-smi not available"
} >"$out/machine.txt" 2>&1

cargo=(cargo "${cargo_flags[@]}")
hattn=("${cargo[@]}" run -q --release --features cuda --bin hattn --)

step build "${cargo[@]}" build --release --features cuda --bins --tests
step tests-cuda "${cargo[@]}" test --release --features cuda --test cuda -- --nocapture --test-threads=1
step tests-instances "${cargo[@]}" test --release --test gpu_instances
step info "${hattn[@]}" gpu info
step_json info "${hattn[@]}" gpu info --json
step check "${hattn[@]}" gpu check --instances "$instances" --len "$len" --state "$state" --seed "$seed"
step_json check "${hattn[@]}" gpu check --instances 65536 --len "$len" --state "$state" --seed "$((seed + 1))" --json
step_json bench "${hattn[@]}" gpu bench --json

echo "failed steps: $failed (outputs in $out)" | tee -a "$out/summary.txt"
exit "$failed"
