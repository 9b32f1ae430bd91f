#!/usr/bin/env bash
# Build KenLM's training programs `lmplz` and `build_binary` into DEST_BIN_DIR (default .venv/bin).
#
# CCNet (Wenzek et al. 2020) trains a 5-gram KenLM per language on Wikipedia; LLaMA (section 2)
# filters CommonCrawl by its perplexity. `pip install kenlm` builds only the query module, so the
# trainers come from the same sdist (kenlm==0.3.0), compiled with cmake against Debian's Boost,
# zlib, bzip2 and lzma headers (scripts/setup.sh installs them).
#
# Downloads exactly one file: the kenlm sdist. `--no-binary=kenlm` (not `:all:`, which would
# compile cmake itself) and `--no-build-isolation` (pip would otherwise fetch setuptools, wheel and
# cmake just to read the sdist's metadata). Idempotent: returns at once when both programs exist
# and run. Each program is copied under a temporary name and renamed.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-$REPO/.venv/bin}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
KENLM_VERSION=0.3.0
JOBS=${KENLM_JOBS:-2}

# `lmplz --help` and `build_binary` without arguments print their usage and exit 1, so "runs" means
# the usage came out: a missing Boost library makes the loader fail (exit 127) with no usage.
runs() {
  local out
  out=$("$DEST/lmplz" --help 2>&1 || true)
  [[ $out == *"Kneser-Ney"* ]] || return 1
  out=$("$DEST/build_binary" 2>&1 || true)
  [[ $out == *"Usage:"* ]]
}

if [ -x "$DEST/lmplz" ] && [ -x "$DEST/build_binary" ] && runs; then
  exit 0
fi

if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -x "$REPO/.venv/bin/python" ]; then
  PY=$REPO/.venv/bin/python
else
  PY=python3
fi
for tool in cmake make c++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build_kenlm: '$tool' is missing; run 'make setup'" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-kenlm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "build_kenlm: building lmplz and build_binary from kenlm==$KENLM_VERSION into $DEST"
"$PY" -m pip download -q --no-deps --no-build-isolation --no-binary=kenlm "kenlm==$KENLM_VERSION" \
  -d "$WORK" 2> >(grep -v "^WARNING: Location" >&2)
tar -xzf "$WORK/kenlm-$KENLM_VERSION.tar.gz" -C "$WORK"
SRC=$WORK/kenlm-$KENLM_VERSION
# Release build: the default (no build type) is unoptimized and lmplz is then several times slower.
cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF >"$WORK/cmake.log" 2>&1 \
  || { tail -n 30 "$WORK/cmake.log" >&2; echo "build_kenlm: cmake failed (Boost/zlib headers missing? run 'make setup')" >&2; exit 1; }
make -C "$SRC/build" -j"$JOBS" lmplz build_binary >"$WORK/make.log" 2>&1 \
  || { tail -n 30 "$WORK/make.log" >&2; echo "build_kenlm: make failed" >&2; exit 1; }

for prog in lmplz build_binary; do
  cp "$SRC/build/bin/$prog" "$DEST/.$prog.tmp.$$"
  mv -f "$DEST/.$prog.tmp.$$" "$DEST/$prog"
done
runs || { echo "build_kenlm: the built programs do not run" >&2; exit 1; }
echo "build_kenlm: done"
