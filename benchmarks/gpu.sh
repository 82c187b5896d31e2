#!/usr/bin/env bash
# The GPU benchmarks, for a lent GPU machine (the `device` tool: PyTorch and JAX with CUDA there, no
# TensorFlow, nothing can be downloaded).  What this project needs beyond them travels as wheels:
#
#   here, once:      bash benchmarks/gpu.sh wheels          # downloads Keras and the pure-Python deps into .whl/
#   on the machine:  bash benchmarks/gpu.sh run             # (device tool: carry [".whl"]); figures in $OUT
#
# `run` installs the wheels into /tmp/site, then runs benchmarks/backends.py on JAX and PyTorch (the seeds
# against their hand-written Keras twins, the LSTM/GRU peers against keras.layers.LSTM/GRU, the looped
# growth to T = 4,096) and writes $OUT/gpu.json (device, versions, date, seed) and $OUT/gpu.log.  It is
# sized to finish in under 8 minutes on one H100; `--quick` there halves it.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  wheels)
    mkdir -p .whl
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    # The GPU image has numpy, ml-dtypes, h5py, rich, absl-py, packaging, networkx, pygments: not these.
    for want in keras==3.15.1 namex==0.1.0 optree==0.20.0 lark==1.3.1 interegular==0.3.3 graphviz==0.21; do
      python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "$want"
    done
    ls -1 .whl ;;
  run)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
    out="${OUT:-runs/gpu}"; mkdir -p "$out"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.log" || true
    python3 benchmarks/backends.py --backends jax torch --json "$out/gpu.json" "${@:2}" 2>&1 | tee -a "$out/gpu.log" ;;
  *)
    echo "usage: bash benchmarks/gpu.sh wheels | run [--quick]" >&2; exit 2 ;;
esac
