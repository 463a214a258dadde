# shellcheck shell=bash
# tests/lib/cli.sh - what the tests/cli_*.sh scripts share. Each one sets
# -u, reads its arguments and then sources this file with
#     . "$(dirname "$0")/lib/cli.sh"
# which gives it $tmp, the pass/fail counters and the helpers below; the
# script ends with `finish`. (Not named cli_*.sh: tests/CMakeLists.txt runs
# every tests/cli_*.sh as a test.)

# $tmp: a scratch folder, removed however the script ends
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# check NAME CMD...: run CMD; count a pass if it succeeds, else a failure,
# with "FAIL: NAME" on stdout
check() {
    local name=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}

# has FILE NEEDLE: FILE contains the fixed string NEEDLE
has() { grep -qF -- "$2" "$1"; }

# lacks FILE NEEDLE: FILE does not contain the fixed string NEEDLE
lacks() { ! grep -qF -- "$2" "$1"; }

# same GOT WANT: the two strings are equal; if not, both are shown
same() { [ "$1" = "$2" ] || { echo "  got:  $1"; echo "  want: $2"; false; }; }

# js FILE EXPR: EXPR is true of j, the JSON value in FILE (EXPR may also be
# statements that return the value)
js() {
    node -e 'const fs = require("fs");
             const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
             const e = process.argv[2], body = /\breturn\b/.test(e) ? e : "return (" + e + ");";
             process.exit(new Function("j", body)(j) ? 0 : 1);' \
        "$1" "$2"
}

# usage_error NAME CMD...: exit 2, and the message names the problem ($want)
usage_error() {
    local name=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    check "$name: exit 2" test $rc -eq 2
    # shellcheck disable=SC2154 # $want is the caller's
    check "$name: message names '$want'" has "$tmp/err" "$want"
    check "$name: nothing on stdout" test ! -s "$tmp/out"
}

# need_node: stop here, with one failure, when node (which js and the
# scripts' other JSON readers run) is not installed
need_node() {
    if ! command -v node >/dev/null; then
        echo "FAIL: node is needed to read the JSON (run scripts/setup.sh)"
        echo "0 passed, 1 failed"
        exit 1
    fi
}

# finish: print "N passed, M failed"; the status is 0 only if nothing
# failed, so the script ends with it
finish() {
    echo "$pass passed, $fail failed"
    test "$fail" -eq 0
}
