#!/usr/bin/env bash
# rnndsl: set up and run.  Usage:  bash run.sh main | test | setup
#   main   set up, then check every spec, draw two, and train a spec on the real data shipped in data/
#   test   set up, then run the whole test suite (text-only and TensorFlow tests)
# Set-up is idempotent: Graphviz via apt-get when `dot` is missing, a .venv with the
# package, TensorFlow (CPU build), JAX and PyTorch (CPU builds: the other Keras backends) and the test tools.
set -euo pipefail
cd "$(dirname "$0")"

apt_install() {  # apt_install PACKAGE...: waits up to 10 minutes for an apt/dpkg lock another process holds
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  local wait=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3) tries
  for tries in $(seq 60); do  # (update takes the lists lock, which the timeout may not cover: retry)
    if $SUDO apt-get "${wait[@]}" update -qq >/dev/null 2>&1; then break; fi
    [ "$tries" = 60 ] && { echo "run.sh: apt-get update kept failing (a held lock?)" >&2; return 1; }
    echo "run.sh: apt-get update failed (another apt running?); retrying in 10 s" >&2; sleep 10
  done
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${wait[@]}" install -y -qq "$@" >/dev/null
}

setup() {
  if ! command -v dot >/dev/null 2>&1; then
    echo "run.sh: installing Graphviz (dot) with apt-get" >&2
    apt_install graphviz
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "run.sh: creating .venv" >&2
    python3 -m venv .venv
  fi
  local stamp=.venv/.rnndsl-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "run.sh: installing rnndsl with TensorFlow (CPU) and the test tools into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip
    # PyTorch's CPU build first (pip on this kind of machine has it on disk; left to resolve `torch`
    # alone, pip takes a CUDA build of several GB), then the package with TensorFlow, JAX and PyTorch.
    .venv/bin/python -m pip install -q "torch==2.13.0"
    .venv/bin/python -m pip install -q -e ".[tf,jax,torch,test]"
    touch "$stamp"
  fi
}

browser() {  # the playground's browser test drives Debian's Chromium (a browser cannot be downloaded here)
  if ! command -v chromium >/dev/null 2>&1; then
    echo "run.sh: installing Chromium with apt-get (for the playground's browser test)" >&2
    apt_install chromium
  fi
}

case "${1:-}" in
  setup)
    setup ;;
  main)
    setup
    .venv/bin/rnndsl check -q specs/*.rnn specs/patterns/*.rnn specs/sequences/*.rnn
    mkdir -p runs
    .venv/bin/rnndsl render specs/zigzag.rnn -o runs/zigzag.svg
    .venv/bin/rnndsl render specs/sequences/italy_power.rnn -o runs/italy_power.svg
    # Real data shipped in data/ (UEA/UCR ItalyPowerDemand, 290 KB): no network needed.
    # The run folder is runs/italy_power-<date-time>/ (a run folder is never overwritten).
    .venv/bin/rnndsl compile specs/sequences/italy_power.rnn --train --no-summary \
      --data data/ItalyPowerDemand/ItalyPowerDemand_TRAIN.ts
    ;;
  test)
    setup
    browser
    set +e
    .venv/bin/python -m pytest -q tests "${@:2}"
    rc=$?
    set -e
    if [ "$rc" = 5 ]; then echo "run.sh: pytest collected no tests" >&2; exit 1; fi
    exit "$rc"
    ;;
  *)
    echo "usage: bash run.sh main | test [pytest args] | setup" >&2
    exit 2 ;;
esac
