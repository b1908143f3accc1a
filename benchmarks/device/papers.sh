#!/usr/bin/env bash
# The paper-setting cells of issues 4 and 5 (GCA, CSGCL, gCooL on Amazon-Photo, Amazon-Computers
# and Coauthor-CS, shipped configs, GCA protocol) on a lent CUDA machine, in one device call.
# On the 2-core CPU one such cell takes 2-20 hours; these are the runs a GPU is for.
#
#   here, once:        bash benchmarks/device/prepare.sh          (fills .gpu-carry/)
#   device tool:       run(command="bash benchmarks/device/papers.sh", carry=[".gpu-carry"],
#                          timeout_s=600)
#   back here:         cp <files_at>/records.jsonl benchmarks/results/gpu-<date>.jsonl
#                      gcl leaderboard        (it reads every benchmarks/results/*.jsonl)
#
# Steps: install what the image lacks (into a folder on PYTHONPATH); the CUDA tests
# (tests/test_devices.py -m cuda and the probe's CUDA test), stopping there if one fails; each
# dataset loaded once (the cache is then read by all lanes); then the cells of QUEUE, LANES at a
# time on the one GPU, until DEADLINE_S seconds after the first cell: a cell not started by then
# is listed as not run, and one still running is stopped (its records are not written, so no
# half-finished result comes back). Finished cells' records are in records.jsonl as soon as each
# cell ends.
#
# Comes back under $OUT (4 files): records.jsonl (gcl bench records, one line per cell and task),
# cells.tsv (each cell: status, seconds), log.txt (install, tests, every cell's log), gpu.txt
# (nvidia-smi before and after, torch and CUDA versions).
#
# Environment: DEADLINE_S (default 420), LANES (default 4), QUEUE (default
# benchmarks/device/papers.queue), DEVICE (default cuda; DEVICE=cpu EPOCHS=2 with a small QUEUE
# checks this script on a machine without a GPU), EPOCHS (an override, only for such checks:
# records made with it are not the paper settings), OUT (default /tmp/gcl-papers/out).
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
WORK=${WORK:-/tmp/gcl-papers}
OUT=${OUT:-$WORK/out}
DEVICE=${DEVICE:-cuda}
LANES=${LANES:-4}
DEADLINE_S=${DEADLINE_S:-420}
QUEUE=${QUEUE:-$REPO/benchmarks/device/papers.queue}
EPOCHS=${EPOCHS:-}
mkdir -p "$OUT" "$WORK/records" "$WORK/logs" "$WORK/runs"
LOG=$OUT/log.txt
CELLS=$OUT/cells.tsv
: > "$LOG"
printf 'cell\tstatus\tseconds\n' > "$CELLS"
START=$(date +%s)
export PYTHONUNBUFFERED=1
say() { echo "[$(( $(date +%s) - START )) s] $*" | tee -a "$LOG"; }

# 1. What the image lacks: the carried wheels, and gcl itself (with its `gcl.cli` package).
SITE=$WORK/site
if compgen -G ".gpu-carry/wheels/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .gpu-carry/wheels/*.whl >> "$LOG" 2>&1 || { say 'wheels: install failed'; exit 1; }
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir \
    --upgrade --target "$SITE" "$REPO" >> "$LOG" 2>&1 || { say 'gcl: install failed'; exit 1; }
export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
# Staged copies: the carried Amazon / Coauthor folders and the checkout's shipped Cora / CiteSeer
# (the cells run outside the checkout, so its datasets/ is named here).
export GCL_DATASETS_PATH=$REPO/.gpu-carry/datasets:$REPO/datasets
export GCL_DATA_ROOT=$WORK/data
GCL="python3 -m gcl.cli.main"
{
    nvidia-smi 2>&1 || echo 'nvidia-smi: not available'
    python3 -c 'import torch, torch_geometric, sklearn; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "| pyg", torch_geometric.__version__, "| sklearn", sklearn.__version__)'
} > "$OUT/gpu.txt" 2>&1
say "installed; device $DEVICE, $LANES lanes, cells for $DEADLINE_S s"

# 2. The CUDA paths' tests (the library itself never imports gcl.cli, so the checkout's gcl
#    serves them); the CPU cases instead when DEVICE=cpu.
if [ "$DEVICE" = cpu ]; then marker='not cuda'; else marker='cuda'; fi
if ! python3 -m pytest -q -m "$marker" tests/test_devices.py \
        tests/eval/test_node_classification.py >> "$LOG" 2>&1; then
    say "device tests FAILED (-m '$marker'); no cells run"; tail -n 40 "$LOG"; exit 1
fi
say "device tests passed (-m '$marker')"

# 3. Each dataset of the queue loaded (and cached) once, before the lanes read it together.
cd "$WORK" || exit 1
for dataset in $(grep -v '^#' "$QUEUE" | awk 'NF {print $2}' | sort -u); do
    $GCL datasets info "$dataset" --load >> "$LOG" 2>&1 || say "dataset $dataset: load failed"
done
say 'datasets loaded'

# 4. The cells, LANES at a time, each a `gcl bench` call with its own records file.
DEADLINE=$(( $(date +%s) + DEADLINE_S ))
export DEADLINE DEVICE EPOCHS WORK CELLS GCL
run_cell() {
    local method=$1 dataset=$2 seeds=$3 tasks=$4
    local name="$method-$dataset-s$seeds-${tasks//,/+}" left=$(( DEADLINE - $(date +%s) ))
    if [ "$left" -lt 30 ]; then printf '%s\tnot run (deadline)\t0\n' "$name" >> "$CELLS"; return; fi
    local began=$(date +%s) extra=()
    if [ -n "$EPOCHS" ]; then extra=(--epochs "$EPOCHS"); fi
    OMP_NUM_THREADS=4 timeout --signal=TERM --kill-after=10 "$left" \
        $GCL bench -m "$method" -d "$dataset" -s "$seeds" --tasks "$tasks" --device "$DEVICE" \
        --results "$WORK/records/$name.jsonl" --out "$WORK/runs" --checkpoint-minutes 0 \
        --no-isolate "${extra[@]}" > "$WORK/logs/$name.log" 2>&1
    local rc=$? status=done
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then status='stopped (deadline)';
    elif [ "$rc" -ne 0 ]; then status="failed (exit $rc)"; fi
    printf '%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - began ))" >> "$CELLS"
}
export -f run_cell
grep -v '^#' "$QUEUE" | awk 'NF' | xargs -P "$LANES" -L 1 bash -c 'run_cell "$@"' _

# 5. What comes back.
cd "$REPO" || exit 1
for f in "$WORK"/logs/*.log; do
    [ -e "$f" ] || continue
    { echo "=== $(basename "$f")"; tail -n 30 "$f"; } >> "$LOG"
done
cat "$WORK"/records/*.jsonl > "$OUT/records.jsonl" 2>/dev/null || : > "$OUT/records.jsonl"
nvidia-smi >> "$OUT/gpu.txt" 2>&1 || true
say "$(grep -c . "$OUT/records.jsonl") records; cells: $(tail -n +2 "$CELLS" | cut -f2 | sort | uniq -c | tr '\n' ';')"
cat "$CELLS"
