#!/usr/bin/env bash
# The engine-neutral route on Slurm: one array task per shard, `sbatch featurize-slurm-array.sh`.
# Slurm does not retry a task killed with SIGKILL (measured with Debian's slurm-wlm on one node), but each shard's
# part is written atomically and an existing part is skipped: after a failure, submit the same array again and only
# the missing shards run.
#SBATCH --job-name=goodtransfer-featurize
#SBATCH --array=0-15            # shards 0..N-1; keep N in SHARDS below equal to the array's size
#SBATCH --cpus-per-task=4
#SBATCH --mem=6G
#SBATCH --time=02:00:00
set -euo pipefail
SHARDS=16
export GOODTRANSFER_HOME=/shared/cache/goodtransfer   # shared cache: one download and conversion per backbone
goodtransfer featurize /shared/images --backbone MocoV2ImageNet --out /shared/features --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}"
