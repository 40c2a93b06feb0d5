#!/usr/bin/env bash
# GPU check: train the fiducial blend2flux (f=256, 25.7M parameters) and blend2mask2flux
# (18.5M) for a few epochs at the paper's scale (128x128 blends, batch 64) and print images/s
# and the projected time of 70 epochs of 25 000 blends. Goal on one H100: blend2flux >= 3000
# images/s (the paper's K80 did about 100).
# Usage: bash benchmarks/gpu.sh            (on a GPU node, TensorFlow with CUDA installed)
#        QUICK=1 bash benchmarks/gpu.sh    (a seconds-long smoke run, e.g. on a CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import tensorflow" 2>/dev/null || python -m pip install -q "tensorflow[and-cuda]==2.21.0" "keras==3.15.1"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi: no GPU visible"
if [ "${QUICK:-0}" = "1" ]; then
  python benchmarks/train.py --preset demo --images 128 --epochs 1 --batch-size 32
  exit 0
fi
for mp in true false; do
  echo "== mixed precision: $mp, XLA: auto"
  python benchmarks/train.py --preset paper --only fiducial --images 6400 --epochs 3 \
    --batch-size 64 --mixed-precision "$mp" --xla auto
done
