#!/usr/bin/env bash
# Everything the GPU path owes, in one call on a machine with an NVIDIA GPU, from binaries
# built beforehand on a machine with Rust (this script never calls cargo; see docs/gpu.md):
#
#   cargo build --release --features cuda --bin hattn               -> gpu-dist/hattn
#   cargo test --release --features cuda --test cuda --no-run       -> gpu-dist/cuda-test
#   (docs/gpu.md has the one command that builds and copies both; gpu-dist/ is ignored by git)
#
#   HATTN=gpu-dist/hattn CUDA_TEST=gpu-dist/cuda-test scripts/gpu-check.sh [OUTPUT_DIR]
#
# OUTPUT_DIR defaults to $OUT, else ./gpu-check-out. Every output goes to a scratch folder
# `gpu-check/`, packed into OUTPUT_DIR/gpu-check.tar.gz; summary.txt is also copied beside
# it. The summary's first line is `GPU: <device>` or `NO GPU: <reason>`.
#
# Steps (each under a time limit; the whole run fits in 5 minutes on an H200):
#   machine.txt      date, kernel, nvidia-smi, the CUDA libraries the linker knows
#   info.log/.json   hattn gpu info: the driver and NVRTC, each found or not, the device
#   tests.log        the GPU tests with HATTN_REQUIRE_GPU=1 (each fails without a GPU)
#   check.log        hattn gpu check, $INSTANCES instances at L = $CHECK_LEN (CPU re-checks)
#   check.json       the same as JSON, 2^18 instances, seed + 1
#   bench.json       hattn gpu bench --json (scan, layer attention, check throughput)
# Without a GPU only the first three run.
#
# Environment: HATTN, CUDA_TEST (the binaries), INSTANCES (1048576), CHECK_LEN (96),
# CHECK_STATE (16), SEED (0). Exit status: the number of failed steps (0 = all passed).
set -uo pipefail
cd "$(dirname "$0")/.."

out="${1:-${OUT:-gpu-check-out}}"
hattn="${HATTN:-gpu-dist/hattn}"
cuda_test="${CUDA_TEST:-gpu-dist/cuda-test}"
instances="${INSTANCES:-1048576}"
len="${CHECK_LEN:-96}"
state="${CHECK_STATE:-16}"
seed="${SEED:-0}"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
tmp="$(mktemp -d)"
work="$tmp/gpu-check"
mkdir -p "$work"
summary="$work/summary.txt"
steps="$work/steps.txt"
: >"$steps"
failed=0

# step NAME LIMIT_S COMMAND...: stdout and stderr to NAME.log, status to steps.txt
step() {
  local name="$1" limit="$2" start=$SECONDS rc
  shift 2
  echo "== $name: $*" | tee -a "$steps"
  timeout "$limit" "$@" >"$work/$name.log" 2>&1
  rc=$?
  note=""
  [ "$rc" -eq 124 ] && note=" (time limit ${limit} s)"
  echo "   exit $rc after $((SECONDS - start)) s$note" | tee -a "$steps"
  [ "$rc" -ne 0 ] && failed=$((failed + 1))
  return 0
}

# step_json NAME LIMIT_S COMMAND...: stdout to NAME.json, stderr to NAME.stderr.log
step_json() {
  local name="$1" limit="$2" start=$SECONDS rc
  shift 2
  echo "== $name: $* > $name.json" | tee -a "$steps"
  timeout "$limit" "$@" >"$work/$name.json" 2>"$work/$name.stderr.log"
  rc=$?
  note=""
  [ "$rc" -eq 124 ] && note=" (time limit ${limit} s)"
  echo "   exit $rc after $((SECONDS - start)) s$note" | tee -a "$steps"
  [ "$rc" -ne 0 ] && failed=$((failed + 1))
  return 0
}

{
  date -u
  uname -a
  nvidia-smi 2>&1 || echo "nvidia-smi not available"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvrtc' || echo "ldconfig: no libcuda / libnvrtc"
  echo "hattn: $hattn"
  echo "cuda test: $cuda_test"
} >"$work/machine.txt" 2>&1

missing=""
for b in "$hattn" "$cuda_test"; do
  [ -x "$b" ] || missing="$missing $b"
done

available=0
reason=""
if [ -n "$missing" ]; then
  reason="prebuilt binaries missing:$missing (set HATTN and CUDA_TEST; see docs/gpu.md)"
  failed=$((failed + 1))
else
  step info 60 "$hattn" gpu info
  step_json info 60 "$hattn" gpu info --json
  if grep -q '"available":true' "$work/info.json"; then
    available=1
  else
    reason="$(grep -m1 '^no GPU: ' "$work/info.log" | sed 's/^no GPU: //')"
    [ -n "$reason" ] || reason="hattn gpu info did not report a GPU (see info.log)"
  fi
  # the GPU tests: with no GPU each fails, naming why (HATTN_IN_GPU_CHECK keeps the
  # test binary from running this script again)
  step tests 150 env HATTN_REQUIRE_GPU=1 HATTN_IN_GPU_CHECK=1 \
    "$cuda_test" --test-threads=1 --nocapture
  if [ "$available" -eq 1 ]; then
    step check 120 "$hattn" gpu check --instances "$instances" --len "$len" --state "$state" --seed "$seed"
    step_json check 90 "$hattn" gpu check --instances 262144 --len "$len" --state "$state" \
      --seed "$((seed + 1))" --json
    step_json bench 180 "$hattn" gpu bench --json
  else
    echo "== check, check.json, bench.json: skipped (no GPU)" | tee -a "$steps"
  fi
fi

{
  if [ "$available" -eq 1 ]; then
    echo "GPU: $(grep -m1 '^device 0: ' "$work/info.log" | sed 's/^device 0: //')"
  else
    echo "NO GPU: $reason"
  fi
  echo "failed steps: $failed"
  grep -E '^(driver|NVRTC): ' "$work/info.log" 2>/dev/null
  grep -E '^test result: ' "$work/tests.log" 2>/dev/null
  # the figures, when there are some (python3 reads the JSON; nothing else needs it)
  if [ "$available" -eq 1 ] && command -v python3 >/dev/null 2>&1; then
    python3 - "$work" <<'PY' 2>&1
import json, os, sys
w = sys.argv[1]
def load(n):
    try:
        with open(os.path.join(w, n)) as f:
            return json.load(f)
    except Exception as e:
        print(f"{n}: unreadable ({e})")
        return None
b = load("bench.json")
if b:
    for k in ("scan", "attention"):
        t = b[k]
        print(f"{k}: {t['what']}: {t['seconds']*1e3:.3f} ms, {t['bandwidth']/1e9:.0f} GB/s = "
              f"{t['fraction_of_peak']*100:.1f}% of peak, {t['bandwidth']/4.3e12*100:.1f}% of 4.3 TB/s")
    c = b["check"]
    print(f"bench check: L {c['len']} N {c['state']}: {c['instances_per_minute']:.3e} instances/min, "
          f"goal {c['goal']:.0e} {'met' if c['meets_goal'] else 'NOT met'}, failures {c['failures']}")
c = load("check.json")
if c:
    ok = all(r.get("counterexample") is None for r in c["rechecks"])
    print(f"check: {c['config']['instances']} instances L {c['config']['len']}: failures {c['failures']}, "
          f"worst ratio {c['worst_ratio']['value']:.3e} (instance {c['worst_ratio']['index']}), "
          f"reductions agree {c['reductions_agree']}, CPU re-checks {'pass' if ok else 'FAIL'}, "
          f"{c['instances_per_minute']:.3e} instances/min")
PY
  fi
  echo
  cat "$steps"
} >"$summary"

tar -czf "$out/gpu-check.tar.gz" -C "$tmp" gpu-check
cp "$summary" "$out/summary.txt"
rm -rf "$tmp"
cat "$out/summary.txt"
echo "archive: $out/gpu-check.tar.gz"
exit "$failed"
