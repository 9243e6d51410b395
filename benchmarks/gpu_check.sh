#!/usr/bin/env bash
# The GPU checks, as one time-boxed script for the lent GPU machine (one H200; ~3-4 min, at
# most ~9.5 with every step at its time limit). Run from the repository root with the wheels in .whl/:
#
#     bash benchmarks/gpu_check.sh            # writes $OUT/gpu_check.log and $OUT/gpu_check.json
#
# Steps (each under `timeout`, so one hang cannot eat the device budget):
#   0. versions: python, torch, CUDA, NCCL, driver (nvidia-smi one line)
#   1. pydantic & co. from .whl/ into $SITE (the device image lacks them; numpy, scipy, httpx,
#      pyyaml, prometheus-client and nvidia-ml-py are there and are not carried)
#   2. benchmarks/nvml_energy_check.py: NVML's energy counter vs integrated power vs NvmlSource
#   3. local mode, min = max = 1 worker, examples/train_elastic.py on cuda + NCCL, ~75 s of
#      training: the energy source must be nvml and samples counted
#   4. benchmarks/sync_measure.py --device cuda at world size 1: step time with and without
#      autoscaler.worker.ddp.attach (overhead %) and the hook's measured sync_s
#   5. benchmarks/gpu_check_summary.py: PASS/FAIL per check, $OUT/gpu_check.json
# Without a GPU (this CPU machine) step 2 says "skipped" and steps 3-4 run short CPU fallbacks
# (plumbing only, verdict INFO). Python: $PYTHON, else python3, else .venv/bin/python if
# python3 lacks torch.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check_out}
SITE=${GPU_CHECK_SITE:-/tmp/site}
WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
TEE_PID=$!
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
T0=$(date +%s)

step() { echo; echo "=== [$(( $(date +%s) - T0 ))s] $*"; }
# run LIMIT_S CMD...: SIGINT at the limit (local mode and torchrun stop their workers on it),
# SIGKILL 15 s later; reports the exit status in one line.
run() {
    local limit=$1; shift
    timeout -s INT -k 15 "$limit" "$@"
    local rc=$?
    case $rc in
        0) ;;
        124|137) echo "!!! timed out after ${limit}s: $1 ... (rc $rc)" ;;
        *) echo "!!! exit status $rc: $1 ..." ;;
    esac
    return $rc
}

PY=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ] && ! python3 -c 'import torch' 2>/dev/null && [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
fi
# The training command's bare "python" is replaced by local mode with its own interpreter.

step "0. versions"
echo "host $(hostname), $(nproc) cores, $(date -u +%FT%TZ), python: $PY"
run 45 "$PY" - "$OUT/versions.json" <<'EOF'
import json, platform, sys
v = {"python": platform.python_version()}
try:
    import torch
    v.update(torch=torch.__version__, cuda=torch.version.cuda, cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        v.update(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(),
                 nccl=".".join(map(str, torch.cuda.nccl.version())),
                 cudnn=torch.backends.cudnn.version())
except ImportError as e:
    v["torch"] = f"missing ({e})"
try:
    import pynvml
    pynvml.nvmlInit()
    v["driver"] = pynvml.nvmlSystemGetDriverVersion()
except Exception as e:  # no library, no driver
    v["driver"] = f"none ({type(e).__name__})"
print("  ".join(f"{k}={val}" for k, val in v.items()))
json.dump(v, open(sys.argv[1], "w"), indent=1)
EOF
if command -v nvidia-smi >/dev/null; then
    run 20 nvidia-smi --query-gpu=name,driver_version,memory.total,power.draw,power.limit,clocks.sm,temperature.gpu --format=csv,noheader
else
    echo "nvidia-smi: not found (no NVIDIA driver here)"
fi
GPU=0
if timeout -k 5 45 "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    GPU=1
fi
echo "GPU for torch: $([ $GPU = 1 ] && echo yes || echo 'no GPU: steps 2-4 skipped or CPU fallbacks')"

step "1. python packages (pydantic & co. from .whl/)"
if "$PY" -c 'import pydantic, annotated_types, typing_inspection' 2>/dev/null; then
    echo "pydantic already importable: $("$PY" -c 'import pydantic; print(pydantic.VERSION)'); not installing"
elif compgen -G ".whl/*.whl" >/dev/null; then
    rm -rf "$SITE"
    export PIP_ROOT_USER_ACTION=ignore  # root on the device; an env var old pips ignore
    run 60 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl && export PYTHONPATH="$PWD:$SITE"
    ls .whl
else
    echo "!!! pydantic missing and no .whl/ carried: local mode (step 3) will fail"
fi
run 30 "$PY" -c 'import pydantic, autoscaler.cli.local, autoscaler.runtime.local.run, autoscaler.worker; print("autoscaler imports: ok, pydantic", pydantic.VERSION)'

step "2. NVML energy counter vs integrated power (30 s under load)"
run 75 "$PY" benchmarks/nvml_energy_check.py --seconds "${GPU_CHECK_NVML_S:-30}" --json "$OUT/nvml_energy.json"

step "3. local mode, 1 worker, train_elastic on $([ $GPU = 1 ] && echo 'cuda + NCCL' || echo 'CPU + gloo (fallback)')"
if [ $GPU = 1 ]; then
    TRAIN_S=${GPU_CHECK_TRAIN_S:-75}; DEV=cuda; SHAPE=(--hidden 1024 --global-batch 4096 --threads 4)
else
    TRAIN_S=${GPU_CHECK_TRAIN_S:-20}; DEV=cpu; SHAPE=()
fi
run $(( TRAIN_S + 75 )) "$PY" -c 'import sys; from autoscaler.cli import main; sys.exit(main())' \
    local --min 1 --max 1 --interval 5 --no-live --report "$WORK/report" \
    -- python examples/train_elastic.py --device $DEV --max-seconds "$TRAIN_S" \
    --checkpoint "$WORK/ckpt.pt" "${SHAPE[@]}"
cp "$WORK/report/report.json" "$OUT/local_report.json" 2>/dev/null || echo "!!! no report.json"
cat "$WORK"/report/logs/torchrun-*.log > "$OUT/local_torchrun.log" 2>/dev/null
echo "--- worker log (tail):"; tail -n 8 "$OUT/local_torchrun.log" 2>/dev/null
left=$(pgrep -f "$WORK/ckpt.pt" || true)
[ -z "$left" ] || echo "!!! processes of step 3 still running: $left"

step "4. DDP comm hook on $([ $GPU = 1 ] && echo 'cuda + NCCL' || echo 'CPU + gloo (fallback)'), world size 1"
if [ $GPU = 1 ]; then
    # fp32 (no TF32), 134 M params: ~8 ms a step on an H200 by FLOPs (aim: 5-20 ms);
    # GPU_CHECK_SYNC_ARGS replaces these shape flags on a rerun
    read -r -a SM <<< "${GPU_CHECK_SYNC_ARGS:---hidden 4096 --layers 8 --batch 512}"
    SM+=(--device cuda --rounds 12 --steps 20)
else
    SM=(--device cpu --rounds 4 --steps 10)
fi
run 120 "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 \
    benchmarks/sync_measure.py "${SM[@]}" --json "$OUT/sync_measure.json"

step "5. summary"
run 20 "$PY" benchmarks/gpu_check_summary.py "$OUT" $([ $GPU = 1 ] && echo --gpu || echo --no-gpu)
rm -rf "$WORK"
echo "done in $(( $(date +%s) - T0 )) s; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
exec >&- 2>&-
wait "$TEE_PID"  # the log is complete before the script returns
