#!/usr/bin/env bash
# The trainer on one GPU (issue 15, item 2) in one short run: about 6 minutes on an H200, 7 at most.
#
#   bash benchmarks/gpu_check.sh        # log: $OUT/gpu_check.log when OUT is set, else ./gpu_check.log
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh
#
# Prints the measured bf16 matmul rate (atop each table), then the 1b preset's end-to-end training
# step (bf16, torch.compile, 16 x 2048 tokens as configs/pretrain_1b.yaml, train.loss's chunked
# loss; one optimizer step per micro-batch, where the config accumulates 16) as MFU: with the
# trainer's default attention (auto: cuDNN's kernels on Hopper), wrapped in FSDP2 in a one-process
# group; then the trainer's CUDA tests; then, in the time left under 7 minutes, comparisons:
# FlashAttention-2 (torch's own first choice), and the micro-batch of 8 x 2048.
# Target: 1b bf16 compiled >= 57% MFU, 0.85 of the measured bf16 matmul rate.
# Needs torch with CUDA, numpy, pyyaml, pyarrow, safetensors (the trainer's imports) and pytest;
# no network. Each part has its own time limit, so one that hangs cannot take the whole budget.
set -u -o pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python || command -v python3)}
LOG=${OUT:+$OUT/gpu_check.log}
LOG=${LOG:-gpu_check.log}
exec > >(tee "$LOG") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
start=$SECONDS

step() {  # step SECONDS TITLE COMMAND...: run it under a time limit and say how it ended
    local limit=$1 title=$2
    shift 2
    echo; echo "== $title ($(( SECONDS - start )) s in)"
    timeout --kill-after=10 "$limit" "$@"
    local rc=$?
    [ $rc -eq 0 ] || echo "!! $title: exit $rc$([ $rc -eq 124 ] && echo ' (time limit)')"
}

echo "gpu_check: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" - <<'PYEOF' || { echo "!! the trainer's imports are missing here: nothing measured"; exit 1; }
import importlib.util, torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}")
missing = [m for m in ("numpy", "yaml", "pyarrow", "safetensors") if importlib.util.find_spec(m) is None]
assert not missing, f"missing modules: {missing}"
PYEOF

# Compiling 1b takes about a minute (less once inductor's cache holds its kernels); then 6 timed
# seconds each.
BENCH=(-m benchmarks.pretrain --device cuda --preset 1b --dtype bf16 --compile --skip-eager --seconds 6)
step 160 "1b bf16 compiled, attention auto" "$PY" "${BENCH[@]}"
step 130 "1b bf16 compiled, FSDP2 on one GPU, attention auto" "$PY" "${BENCH[@]}" --fsdp
if "$PY" -c "import pytest" 2>/dev/null; then
    step 90 "the trainer's CUDA tests" "$PY" -m pytest -q -p no:cacheprovider tests/train/test_loss.py \
        tests/train/test_ops.py -k cuda
else
    echo "!! pytest is not installed: CUDA tests not run"
fi
for extra in "--attention flash" "--micro-batch 8"; do
    left=$(( 420 - (SECONDS - start) ))  # so that the whole run stays under 7 minutes
    if [ $left -ge 60 ]; then
        # shellcheck disable=SC2086  # $extra is two words on purpose
        step $left "1b bf16 compiled, $extra (comparison)" "$PY" "${BENCH[@]}" $extra
    else
        echo; echo "== $extra comparison skipped: $left s left"
    fi
done
echo; echo "gpu_check: done in $(( SECONDS - start )) s; log in $LOG"
