#!/usr/bin/env bash
# test.sh - the whole test suite, as CI runs it (.ci/run calls this):
#   1. build with -Wall -Wextra -Werror and run every test (CTest: cmocka unit
#      tests, shell tests of the glimp program, fuzz corpus replays);
#   2. build again with clang's AddressSanitizer + UndefinedBehaviorSanitizer
#      (and LeakSanitizer) and run every test there;
#   3. build the libFuzzer targets and run each for GLIMP_FUZZ_SECONDS
#      (default 25) from its seed corpus; a crash fails the run and leaves
#      its input in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${GLIMP_FUZZ_SECONDS:-25}

scripts/setup.sh --deps

echo "== 1/3 build with -Werror, run the tests"
cmake -S . -B build/werror -DGLIMP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/werror -j"$jobs"
ctest --test-dir build/werror --output-on-failure -j"$jobs"

echo "== 2/3 build with ASan + UBSan, run the tests"
# -O1, as the sanitizers' authors advise: far faster than -O0, and asserts
# stay on (Debug has no NDEBUG)
CC=clang cmake -S . -B build/asan -DGLIMP_WERROR=ON -DGLIMP_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure -j"$jobs"

echo "== 3/3 fuzz each target for ${fuzz_seconds}s"
CC=clang cmake -S . -B build/fuzz -DGLIMP_WERROR=ON -DGLIMP_FUZZ=ON -DGLIMP_TESTS=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
mkdir -p build/fuzz/artifacts
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    cmake --build build/fuzz -j"$jobs" --target "$name"
    work=build/fuzz/corpus-$target
    mkdir -p "$work"
    log=build/fuzz/$name.log
    if ! build/fuzz/tests/"$name" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
            -artifact_prefix=build/fuzz/artifacts/ \
            "$work" tests/fuzz/corpus/"$target" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $name found a failure; input in build/fuzz/artifacts/" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $name ran ${fuzz_seconds}s, $execs executions, corpus $(ls "$work" | wc -l) inputs, no crash"
done
echo "all test stages passed"
