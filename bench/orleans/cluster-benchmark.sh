#!/usr/bin/env bash
# The Orleans cluster against one process on the same cores, with a full-size ResNet-50 (random weights; speed does
# not depend on them). Not a test: prints figures, with the CPU model, for README's "Featurizing on a cluster".
#   bash bench/orleans/cluster-benchmark.sh [IMAGES [IMAGES_PER_BATCH]]
#   (defaults: 1024 images in batches of 256, the job's default; about 22 minutes on 2 cores)
#   ROUNDS=4 ONE_SILO_ONLY=1 bash bench/orleans/cluster-benchmark.sh   (one process against 1 silo + job only, 4 rounds)
#   JOBS=3 ...: the timed job runs three times on each round's silos (default 2): the first on new silos pays their JIT
#   warm-up (Orleans' periodic code reaches its 30 calls and is recompiled over the first minute), later ones do not.
# Needs redis-server, python3-torch (to make the checkpoint once) and a Release build of the cluster-check program:
#   dotnet build tests/GoodTransfer.ML.Orleans.ClusterCheck -c Release
# Measures: images/s of one process (the featurizer on all cores, after its fit), of one process that runs one Transform
# per batch as a silo does, and of a job on 1 silo (all cores) and on 2 silos (one core each), the same images and
# batches, after a warm-up job that makes the silos fit (the job's time still includes its client's first calls and the
# last batch's tail), then again on the same silos, each job as a ratio to the mean of one process's runs before and
# after the round's silos; silo start (process start to joined); kill -9 of one of 3 silos
# mid-run to the first of its batches sent again; a grain call's round trip.
set -euo pipefail
cd "$(dirname "$0")/../.."
images=${1:-1024}
per_batch=${2:-256}
work=$(mktemp -d /tmp/goodtransfer-cluster-bench.XXXXXX)
exe=tests/GoodTransfer.ML.Orleans.ClusterCheck/bin/Release/net10.0/GoodTransfer.ML.Orleans.ClusterCheck.dll
checkpoint=/tmp/bench/r50.pth
pids=()
cleanup() {
  for pid in "${pids[@]}" $(cat "$work/pids" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

[ -f "$exe" ] || { echo "build first: dotnet build tests/GoodTransfer.ML.Orleans.ClusterCheck -c Release" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server" >&2; exit 2; }
[ -f "$checkpoint" ] || /usr/bin/python3 bench/pytorch/make_resnet50_checkpoint.py "$checkpoint"

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p')), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
fixtures=tests/GoodTransfer.ML.Tests/Fixtures/images
mkdir -p "$work/images"
mapfile -t sources < <(ls "$fixtures"/*.jpg)
for i in $(seq 0 $((images - 1))); do ln -s "$(realpath "${sources[$((i % ${#sources[@]}))]}")" "$work/images/img-$i.jpg"; done
ls "$work"/images/*.jpg > "$work/list.txt"
cache="$work/cache"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
redis_port=$(port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & pids+=($!)
sleep 1
redis=127.0.0.1:$redis_port

start_silo() { # cluster name -> pid; waits for "ready"
  local log="$work/silo-$1-$2.log" start; start=$(now)
  dotnet "$exe" silo --redis "$redis" --cluster "$1" --silo-port "$(port)" --gateway-port "$(port)" --until-killed 1 < /dev/null > "$log" 2>&1 &
  echo $! >> "$work/pids"
  for _ in $(seq 1 600); do grep -q "^ready " "$log" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready ' "$log" || { echo "silo did not start: $log" >&2; cat "$log" >&2; exit 1; }
  echo "silo start: $(echo "$(now) - $start" | bc) s" >&2
  awk '/^ready /{print $3; exit}' "$log"
}
run_job() { # cluster cpu-threads job [silo pids] -> images/s of that job; job 1 follows a warm-up job of 32 images (the silos fit their featurizer)
  if [ "$3" = 1 ]; then
    dotnet "$exe" job --redis "$redis" --cluster "$1" --checkpoint "$checkpoint" --list <(head -n 32 "$work/list.txt") --out "$work/warm-$1" \
      --cache "$cache" --images-per-batch 16 --cpu-threads "$2" > /dev/null 2>&1
  fi
  local out="$work/out-$1-$3" silo_before=0 pid
  for pid in ${4:-}; do silo_before=$(echo "$silo_before + $(cpu_seconds "$pid")" | bc); done
  /usr/bin/time -f "%U %S" -o "$work/time-$1" dotnet "$exe" job --redis "$redis" --cluster "$1" --checkpoint "$checkpoint" --list "$work/list.txt" --out "$out" \
    --cache "$cache" --images-per-batch "$per_batch" --cpu-threads "$2" > "$work/job-$1-$3.log" 2> "$work/job-$1-$3.err"
  local seconds; seconds=$(awk '/^seconds /{print $2}' "$work/job-$1-$3.err")
  local silo_after=0; for pid in ${4:-}; do silo_after=$(echo "$silo_after + $(cpu_seconds "$pid")" | bc); done
  echo "$(echo "scale=2; $images / $seconds" | bc) images/s (the job's own process: $(awk '{printf "%.1f", $1 + $2}' "$work/time-$1") CPU s in $seconds s$([ -n "${4:-}" ] && echo "; the silos: $(echo "$silo_after - $silo_before" | bc) CPU s in this job"))"
}
job_name() { [ "$1" = 1 ] && echo "first job on new silos" || echo "job $1 on the same silos"; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; } # a process's user + system CPU so far

# Convert the checkpoint into the cache once, so that no run below pays for it.
dotnet "$exe" local --checkpoint "$checkpoint" --list <(head -n 1 "$work/list.txt") --cache "$cache" > /dev/null

only_one_silo=${ONE_SILO_ONLY:-0}
jobs=${JOBS:-2}
one_process() { # [--images-per-batch N] -> images/s of one process on every core (after its fit), and its fit and CPU in words
  dotnet "$exe" local --checkpoint "$checkpoint" --list "$work/list.txt" --cpu-threads "$(nproc)" --cache "$cache" "$@" \
    | awk -v n="$images" '{printf "%.2f images/s (fit %.1f s; %.1f CPU s featurizing)", n / $7, $3, $9}'
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  before=$(one_process)
  echo "round $round, one process ($(nproc) threads): $before"
  if [ "$only_one_silo" != 1 ]; then
    batched=$(one_process --images-per-batch "$per_batch")
    echo "round $round, one process, one Transform per batch of $per_batch: ${batched%% (*}"
  fi

  labels=(); rates=()
  silo=$(start_silo "one-$round" "$round")
  for job in $(seq 1 "$jobs"); do
    labels+=("1 silo ($(nproc) threads) + job, $(job_name "$job")")
    line=$(run_job "one-$round" "$(nproc)" "$job" "$silo"); rates+=("${line%% *}")
    echo "round $round, ${labels[-1]}: $line"
  done
  kill -9 "$silo" 2>/dev/null || true

  if [ "$only_one_silo" != 1 ]; then
    a=$(start_silo "two-$round" a); b=$(start_silo "two-$round" b)
    for job in $(seq 1 "$jobs"); do
      labels+=("2 silos (1 thread each) + job, $(job_name "$job")")
      line=$(run_job "two-$round" 1 "$job" "$a $b"); rates+=("${line%% *}")
      echo "round $round, ${labels[-1]}: $line"
    done
    kill -9 "$a" "$b" 2>/dev/null || true
  fi

  # The host's speed drifts between minutes: each job is set against the mean of one process's runs before and after it.
  after=$(one_process)
  echo "round $round, one process again, after the silos: $after"
  for i in "${!labels[@]}"; do
    echo "round $round, ${labels[$i]}: $(awk -v r="${rates[$i]}" -v x="${before%% *}" -v y="${after%% *}" 'BEGIN {printf "%.3f", 2 * r / (x + y)}') of one process (the mean of its runs before and after)"
  done
done

[ "$only_one_silo" = 1 ] && exit 0

# kill -9 of one of three silos mid-run: from the kill to the job's first retry of that silo's batches.
declare -A silo_pid
for s in x y z; do silo_pid[$s]=$(start_silo kill "$s"); done
( dotnet "$exe" job --redis "$redis" --cluster kill --checkpoint "$checkpoint" --list "$work/list.txt" --out "$work/out-kill" \
    --cache "$cache" --images-per-batch 8 --cpu-threads 1 2>/dev/null | while IFS= read -r line; do echo "$(now) $line"; done > "$work/job-kill.log" ) & job=$!
# The log appears only once the job prints its first line: count nothing until then.
for _ in $(seq 1 3000); do done_batches=$(grep -cs 'event BatchDone' "$work/job-kill.log") || done_batches=0; [ "$done_batches" -ge 2 ] && break; sleep 0.1; done
victim=x; killed_at=$(now); kill -9 "${silo_pid[$victim]}"
wait "$job" || true
victim_addr=$(awk '/^ready /{print $2; exit}' "$work/silo-kill-$victim.log")
retried_at=$(awk -v a="$victim_addr" '$3=="BatchRetried" && $7==a {print $1; exit}' "$work/job-kill.log")
lost_at=$(awk -v a="$victim_addr" '$3=="SiloLost" && $7==a {print $1; exit}' "$work/job-kill.log")
echo "kill -9 to silo lost: $(echo "$lost_at - $killed_at" | bc) s; to its first batch sent again: $(echo "$retried_at - $killed_at" | bc) s; job: $(tail -n 1 "$work/job-kill.log" | cut -d' ' -f2-)"

echo "grain call round trip: $(dotnet "$exe" ping --redis "$redis" --cluster kill --count 300)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
