#!/usr/bin/env bash
# GPU check: train the fiducial blend2flux (f=256, 25.7M parameters) and blend2mask2flux
# (18.5M) for a few epochs at the paper's scale (128x128 blends, batch 64), each with mixed
# precision on/off and XLA on/off, in two modes: network only (tensors already in memory)
# and end to end (a blend set in the real HDF5 layout through the real input path,
# blendphot.models.data.training_dataset). Prints images/s and the projected time of 70
# epochs of 25 000 blends, and writes them to a CSV (one row per model and switch setting).
# Goal on one H100: blend2flux >= 3000 images/s (the paper's K80 did about 100), end to end
# as fast as network only. Then one training on every GPU it finds (training.gpus,
# MirroredStrategy) against the same training on one GPU: images/s of each and the largest
# relative weight difference (benchmarks/distribute.py; on one GPU it compares it with itself).
# Usage: bash benchmarks/gpu.sh            (on a GPU node, TensorFlow with CUDA installed)
#        QUICK=1 bash benchmarks/gpu.sh    (a seconds-long smoke run, e.g. on a CPU)
#        CSV=out.csv BENCH_DIR=/scratch/me bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import tensorflow" 2>/dev/null || python -m pip install -q "tensorflow[and-cuda]==2.21.0" "keras==3.15.1"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi: no GPU visible"
BENCH_DIR=${BENCH_DIR:-/tmp/blendphot_bench}
CSV=${CSV:-$BENCH_DIR/gpu.csv}
mkdir -p "$BENCH_DIR"
rm -f "$CSV"
if [ "${QUICK:-0}" = "1" ]; then
  python benchmarks/train.py --preset demo --only "flux (demo" --images 64 --epochs 1 --batch-size 32 \
    --mode both --blend-set "$BENCH_DIR/quick.h5" --augment --csv "$CSV"
  cat "$CSV"
  echo "== one training on every device found (2 logical CPUs without a GPU)"
  if nvidia-smi -L >/dev/null 2>&1; then LOGICAL=0; else LOGICAL=2; fi
  python benchmarks/distribute.py --logical-cpus "$LOGICAL" --images 64 --size 32 --epochs 2 \
    --batch-size 16 --filters 4
  exit 0
fi
for model in "blend2flux f=256" "blend2mask2flux"; do
  for mp in true false; do
    for xla in true false; do
      echo "== $model, mixed precision: $mp, XLA: $xla"
      python benchmarks/train.py --preset paper --only "$model" --images 6400 --epochs 3 \
        --batch-size 64 --mixed-precision "$mp" --xla "$xla" --mode both \
        --blend-set "$BENCH_DIR/e2e_6400.h5" --augment --csv "$CSV"
    done
  done
done
echo "== $CSV"
cat "$CSV"
echo "== one training on every GPU found (MirroredStrategy) against one GPU"
python benchmarks/distribute.py --images 8192 --size 128 --epochs 3 --batch-size 256 --filters 64
