#!/usr/bin/env bash
# Load test of samples/ImageService: throughput, p50/p99 latency and failed requests at 1, 8, 32 and 128
# concurrent clients (Debian's `hey`, POSTing one JPEG to /classify), for the batched service
# (FeaturizerService) and the naive one (--Mode naive: a PredictionEngine per request), with the featurizer's
# own batch throughput on the same image in the same run as the baseline; then the batched service's RSS
# over SOAK requests. Not a CI test: figures go to README with the machine (bench/loadtest/README.md).
#
#   bench/loadtest/run.sh                       full-size ResNet-50 (random weights), 20 s per level
#   DURATION=30s LEVELS="1 32" bench/loadtest/run.sh
#   SOAK_CHECKPOINT=tests/GoodTransfer.ML.Tests/Fixtures/checkpoints/bottleneck_moco_v2.pth bench/loadtest/run.sh
#
# Settings (environment): WORK (a folder for the checkpoint, cache and models), CHECKPOINT (a ResNet-50 .pth; made
# with PyTorch when missing), DURATION (hey -z, per level), LEVELS, SOAK (requests; 0 skips), SOAK_CHECKPOINT (the
# checkpoint of the soak's model: the full-size one by default, a small one to finish sooner), BASELINE_IMAGES,
# BATCHED_ARGS (more arguments for the batched service, e.g. "--RunAtOnceWhenIdle false").
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

work=${WORK:-$(mktemp -d /tmp/goodtransfer-loadtest-XXXXXX)}
mkdir -p "$work"
checkpoint=${CHECKPOINT:-$work/r50.pth}
duration=${DURATION:-20s}
levels=${LEVELS:-"1 8 32 128"}
soak=${SOAK:-10000}
soak_checkpoint=${SOAK_CHECKPOINT:-$checkpoint}
baseline_images=${BASELINE_IMAGES:-160}
image=tests/GoodTransfer.ML.Tests/Fixtures/images/coffee_500x333.jpg
export GOODTRANSFER_HOME=$work/cache

for tool in hey curl python3; do
  command -v "$tool" >/dev/null || { echo "The load test needs '$tool' (apt-get install hey curl python3)." >&2; exit 1; }
done
if [ ! -f "$checkpoint" ]; then
  echo "Making a full-size ResNet-50 checkpoint with PyTorch: $checkpoint"
  /usr/bin/python3 bench/pytorch/make_resnet50_checkpoint.py "$checkpoint"
fi

echo "Building..."
for project in samples/ImageService/ImageService.csproj samples/ImageClassifier/ImageClassifier.csproj bench/loadtest/Baseline/LoadTestBaseline.csproj; do
  dotnet build "$project" -c Release -v quiet -nologo >/dev/null
done
bin() { echo "$1/bin/Release/net10.0/$2.dll"; }

# A classifier zip as samples/ImageClassifier saves one (its 300 Fashion-MNIST images), for a checkpoint.
classifier() {
  local model=$work/classifier-$(basename "$1" .pth).zip
  if [ ! -f "$model" ]; then
    dotnet "$(bin samples/ImageClassifier ImageClassifier)" --checkpoint "$1" --model "$model" >"$work/classifier-$(basename "$1" .pth).log" 2>&1 \
      || { cat "$work/classifier-$(basename "$1" .pth).log" >&2; exit 1; }
  fi
  echo "$model"
}

# Both services run at once, each on its port; an idle one costs nothing but memory. The machine may be
# shared, so each level measures the baseline, the batched service and the naive one back to back, and each
# ratio is taken against the baseline of its own level.
declare -A port pid
port[batched]=$((20000 + RANDOM % 10000)); port[naive]=$((30000 + RANDOM % 10000))
read -r -a batched_args <<<"${BATCHED_ARGS:-}"
start_server() { # mode, model
  local extra=(); [ "$1" = batched ] && extra=("${batched_args[@]}")
  dotnet "$(bin samples/ImageService ImageService)" --Model "$2" --Mode "$1" "${extra[@]}" --urls "http://127.0.0.1:${port[$1]}" >"$work/server-$1.log" 2>&1 &
  pid[$1]=$!
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:${port[$1]}/health" >/dev/null; then return 0; fi
    kill -0 "${pid[$1]}" 2>/dev/null || { cat "$work/server-$1.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "ImageService ($1) did not answer /health within 120 s" >&2; exit 1
}
stop_server() { if [ -n "${pid[$1]:-}" ]; then kill "${pid[$1]}" 2>/dev/null || true; wait "${pid[$1]}" 2>/dev/null || true; pid[$1]=; fi; }
trap 'stop_server batched; stop_server naive' EXIT
rss_mb() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/${pid[$1]}/status"; }
load() { # mode, clients, then hey's other arguments
  local mode=$1 clients=$2; shift 2
  hey -o csv -c "$clients" -t 300 -m POST -T image/jpeg -D "$image" "$@" "http://127.0.0.1:${port[$mode]}/classify" | python3 bench/loadtest/parse_hey.py
}
baseline() { dotnet "$(bin bench/loadtest/Baseline LoadTestBaseline)" "$checkpoint" "$image" "$baseline_images" | awk '/featurizer_images_per_second/ { print $2 }'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
model=$(classifier "$checkpoint")
echo "Model: $model ($(du -m "$model" | cut -f1) MB)"
results=$work/results.jsonl
: >"$results"
if [ -n "$levels" ]; then
  start_server batched "$model"
  start_server naive "$model"
  for mode in batched naive; do load "$mode" 8 -n 16 >/dev/null; done  # warm-up: sessions, engines, JIT
  for clients in $levels; do
    base=$(baseline)
    echo "{\"clients\": $clients, \"baseline\": $base, \"loadavg\": $(loadavg)}" | tee -a "$results"
    for mode in batched naive; do
      line=$(load "$mode" "$clients" -z "$duration")
      health=$(curl -sf "http://127.0.0.1:${port[$mode]}/health")
      echo "{\"mode\": \"$mode\", \"clients\": $clients, \"rss_mb\": $(rss_mb "$mode"), \"loadavg\": $(loadavg), \"health\": $health, \"result\": $line}" | tee -a "$results"
    done
  done
  stop_server batched
  stop_server naive
fi

if [ "$soak" -gt 0 ]; then
  soak_model=$(classifier "$soak_checkpoint")
  start_server batched "$soak_model"
  load batched 8 -n 16 >/dev/null
  echo "Soak: $soak requests, 32 clients, $(basename "$soak_checkpoint"); RSS in MB after each tenth:"
  rss=("$(rss_mb batched)")
  failed=0
  for _ in $(seq 1 10); do
    line=$(load batched 32 -n $(( (soak / 10 + 31) / 32 * 32 )))  # hey sends a multiple of -c
    failed=$((failed + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["failed"])' "$line")))
    rss+=("$(rss_mb batched)")
    echo "  ${rss[-1]} MB (failed so far: $failed; $line)"
  done
  echo "{\"soak\": $soak, \"checkpoint\": \"$(basename "$soak_checkpoint")\", \"failed\": $failed, \"rss_mb\": [$(IFS=,; echo "${rss[*]}")]}" | tee -a "$results"
  stop_server batched
fi

echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Results: $results"
python3 - "$results" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bases = {l["clients"]: l["baseline"] for l in lines if "baseline" in l}
by = {(l["mode"], l["clients"]): l for l in lines if "mode" in l}
print("\n| clients | featurizer img/s | batched req/s | p50 ms | p99 ms | failed | mean batch | naive req/s | p50 ms | p99 ms | failed | batched / featurizer | batched / naive | load avg |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
previous = {"imagesRun": 0, "batchesRun": 0}
for c in sorted(bases):
    b, n = by.get(("batched", c)), by.get(("naive", c))
    # /health counts from the start; this level's batches are the difference from the level before (levels run in order).
    if b:
        images, batches = b["health"]["imagesRun"] - previous["imagesRun"], b["health"]["batchesRun"] - previous["batchesRun"]
        previous = b["health"]
    cell = lambda r: [r["result"]["requests_per_second"], r["result"]["p50_ms"], r["result"]["p99_ms"], r["result"]["failed"]] if r else ["-"] * 4
    batch = f'{images / max(1, batches):.1f}' if b else "-"
    ratio = f'{b["result"]["requests_per_second"] / bases[c]:.2f}' if b else "-"
    vs = f'{b["result"]["requests_per_second"] / n["result"]["requests_per_second"]:.2f}' if b and n else "-"
    load = "/".join(str(x["loadavg"]) for x in (b, n) if x)
    print("| " + " | ".join(str(x) for x in [c, bases[c], *cell(b)[:4], batch, *cell(n), ratio, vs, load]) + " |")
PY
