#!/usr/bin/env bash
# One entry for CPU, GPU and TPU hosts:
#   ./launch.sh [--platform=cpu|gpu|tpu] [--tpu_name=NAME --zone=ZONE] [--dry_run] [--table] -- [flags]
# Detects the platform (or takes --platform), sets its environment (no full GPU memory
# preallocation; a persistent compilation cache so a second launch skips most compile time) and
# runs `python -m ngjax.main` (or, with --table, `python -m experiments.seed.table`) with the
# flags after "--". With --tpu_name it runs that command on every worker of the Cloud TPU VM
# (gcloud compute tpus tpu-vm ssh NAME --worker=all). --dry_run prints the command instead.
set -euo pipefail
platform="" dry=0 table=0 tpu_name="" zone="" repo_dir="${NGJAX_REMOTE_DIR:-ngjax}"
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --platform=*) platform="${1#*=}" ;;
    --tpu_name=*) tpu_name="${1#*=}" ;;
    --zone=*) zone="${1#*=}" ;;
    --dry_run) dry=1 ;;
    --table) table=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "launch.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$tpu_name" ] && [ -z "$platform" ]; then platform=tpu; fi
if [ -z "$platform" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then platform=gpu
  elif [ -e /dev/accel0 ] || [ -e /dev/vfio/0 ]; then platform=tpu
  else platform=cpu; fi
fi
case "$platform" in
  cpu) env_vars=(JAX_PLATFORMS=cpu) ;;
  gpu) env_vars=(JAX_PLATFORMS=cuda XLA_PYTHON_CLIENT_PREALLOCATE=false) ;;
  tpu) env_vars=(JAX_PLATFORMS=tpu) ;;
  *) echo "launch.sh: --platform=$platform: allowed values are cpu, gpu, tpu" >&2; exit 2 ;;
esac
env_vars+=("JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$HOME/.cache/ngjax/jax_cache}")
module=ngjax.main
[ "$table" = 1 ] && module=experiments.seed.table
cmd=(env "${env_vars[@]}" python -m "$module" "$@")
if [ -n "$tpu_name" ]; then
  [ -n "$zone" ] || { echo "launch.sh: --tpu_name needs --zone=ZONE" >&2; exit 2; }
  remote="cd $(printf '%q' "$repo_dir") && $(printf '%q ' "${cmd[@]}")"
  cmd=(gcloud compute tpus tpu-vm ssh "$tpu_name" "--zone=$zone" --worker=all "--command=$remote")
fi
if [ "$dry" = 1 ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
exec "${cmd[@]}"
