#!/usr/bin/env bash
# Run ngjax on this host: ./launch.sh [--platform=cpu|gpu|tpu] [--dry_run] -- [ngjax.main flags]
# Sets the platform's environment (no full GPU memory preallocation, a persistent compilation
# cache) and runs python -m ngjax.main with the flags after "--".
set -euo pipefail
platform="" dry=0
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --platform=*) platform="${1#*=}" ;;
    --dry_run) dry=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "launch.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
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
env_vars+=(JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$HOME/.cache/ngjax/jax_cache}")
cmd=(env "${env_vars[@]}" python -m ngjax.main "$@")
if [ "$dry" = 1 ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
exec "${cmd[@]}"
