#!/usr/bin/env bash
# mutate.sh - a small mutation runner: break the code on purpose, one
# realistic bug at a time, and see whether the tests notice.
#
# The mutants are listed in scripts/mutants.txt (the format is described at
# its top): a file, an exact piece of one line, what replaces it, and the
# ctest names (a regex) that should catch it. For each selected mutant this
# checks that the text occurs exactly once in the file (else "stale": fix
# the list), applies it in a copy of the tree, builds (werror, incremental),
# runs the named tests with a time limit, records killed / survived / build
# error, and restores the file. Then it prints a table and the score:
# killed / (mutants - stale - build errors). A surviving mutant must be killed
# by a new test, or explained in its entry ("why:"). Developers only: it is
# slow, and not part of .ci/run.
#
# usage: scripts/mutate.sh [-f MUTANTS] [-d DIR] [-t SECONDS] [-j N] [-l] [PATTERN...]
#   PATTERN      run only the mutants whose id matches one of these
#                (extended regexes, anchored: "answer-.*", "spec-room-plus1")
#   -f MUTANTS   the list (default scripts/mutants.txt)
#   -d DIR       where the copy and its build live (default build/mutate;
#                kept between runs, so the next build is incremental)
#   -t SECONDS   time limit of each test program (default 300)
#   -j N         build jobs (default 2)
#   -l           list the selected mutants and exit
# Exit status: 0 when every counted mutant was killed or explained, 1 when
# one survived unexplained, 2 on a usage or setup error.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

list=scripts/mutants.txt
dir=build/mutate
limit=300
jobs=2
only_list=0
while getopts "f:d:t:j:lh" opt; do
    case $opt in
    f) list=$OPTARG ;;
    d) dir=$OPTARG ;;
    t) limit=$OPTARG ;;
    j) jobs=$OPTARG ;;
    l) only_list=1 ;;
    *)
        sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 2
        ;;
    esac
done
shift $((OPTIND - 1))
patterns=("$@")
[ -f "$list" ] || { echo "mutate: no list $list" >&2; exit 2; }

# ------------------------------------------------------------ the list

ids=() files=() froms=() tos=() tests=() whys=()
add_mutant() {
    [ -n "$m_id" ] || return 0
    if [ -z "$m_file" ] || [ -z "$m_from" ] || [ -z "$m_tests" ] || [ "$m_has_to" -ne 1 ]; then
        echo "mutate: $list: mutant $m_id needs file:, from:, to: and tests:" >&2
        exit 2
    fi
    local keep=1
    if ((${#patterns[@]})); then
        keep=0
        for p in "${patterns[@]}"; do
            [[ $m_id =~ ^($p)$ ]] && keep=1
        done
    fi
    if ((keep)); then
        ids+=("$m_id") files+=("$m_file") froms+=("$m_from") tos+=("$m_to")
        tests+=("$m_tests") whys+=("$m_why")
    fi
}
m_id="" m_file="" m_from="" m_to="" m_tests="" m_why="" m_has_to=0
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case $line in
    '#'* | '') continue ;;
    '@ '*)
        add_mutant
        m_id=${line#@ } m_file="" m_from="" m_to="" m_tests="" m_why="" m_has_to=0
        ;;
    'file: '*) m_file=${line#file: } ;;
    'from: '*) m_from=${line#from: } ;;
    'to:') m_to="" m_has_to=1 ;;
    'to: '*) m_to=${line#to: } m_has_to=1 ;;
    'tests: '*) m_tests=${line#tests: } ;;
    'why: '*) m_why=${line#why: } ;;
    *)
        echo "mutate: $list:$lineno: cannot read: $line" >&2
        exit 2
        ;;
    esac
done <"$list"
add_mutant
n=${#ids[@]}
((n)) || { echo "mutate: no mutant selected" >&2; exit 2; }

if ((only_list)); then
    for ((i = 0; i < n; i++)); do
        printf '%-24s %-28s %s\n' "${ids[i]}" "${files[i]}" "${tests[i]}"
    done
    exit 0
fi

# ------------------------------------------------------------ the copy

# Tracked files and new ones not ignored, as they are in the working tree
# (uncommitted edits count). Only a file whose bytes differ from the copy's
# is written, with the time of now: an unchanged file is not rebuilt, and a
# changed one always is (keeping the tree's times would not do: a file
# edited while an earlier run was building can be older than the object
# that run compiled from its previous text).
src=$dir/src
bld=$dir/build
inc=$dir/incoming
rm -rf "$inc"
mkdir -p "$src" "$inc" || exit 2
git ls-files -z --cached --others --exclude-standard | grep -zv '^build' |
    tar --null -T - -cf - | tar -xf - -C "$inc" || { echo "mutate: copy failed" >&2; exit 2; }
(cd "$inc" && find . -type f -print0) | while IFS= read -r -d '' f; do
    cmp -s "$inc/$f" "$src/$f" && continue
    mkdir -p "$(dirname "$src/$f")" && cp "$inc/$f" "$src/$f" || exit 1
done || { echo "mutate: copy failed" >&2; exit 2; }
rm -rf "$inc"
# the npm oracles the tests read (ignored, so not copied)
if [ -e tests/oracle/node_modules ] && [ ! -e "$src/tests/oracle/node_modules" ]; then
    ln -s "$root/tests/oracle/node_modules" "$src/tests/oracle/node_modules"
fi

build() {
    cmake --build "$bld" -j"$jobs" >"$dir/build.log" 2>&1
}
# build_for REGEX: only the programs the tests named by REGEX run (a
# cmocka test is its own program, the shell tests run glimp)
build_for() {
    local targets=(glimp) t
    for t in $(ctest --test-dir "$bld" -N -R "$1" | sed -n 's/^ *Test *#[0-9]*: //p'); do
        case $t in
        cli_*) targets+=(glimp) ;;
        *) targets+=("$t") ;;
        esac
    done
    ((${#targets[@]})) || targets=(all)
    cmake --build "$bld" -j"$jobs" --target $(printf '%s\n' "${targets[@]}" | sort -u) \
        >"$dir/build.log" 2>&1
}
echo "mutate: building the copy in $bld"
cmake -S "$src" -B "$bld" -DGLIMP_WERROR=ON >"$dir/cmake.log" 2>&1 &&
    build || { echo "mutate: the unmutated copy does not build; see $dir/build.log" >&2; exit 2; }

# Every selected test must pass before anything is mutated.
union=$(printf '%s\n' "${tests[@]}" | sort -u | paste -sd'|')
echo "mutate: baseline: ctest -R '$union'"
if ! ctest --test-dir "$bld" -R "$union" --timeout "$limit" --no-tests=error \
    >"$dir/baseline.log" 2>&1; then
    echo "mutate: tests fail without any mutant; see $dir/baseline.log" >&2
    exit 2
fi

# -------------------------------------------------------- the mutants

# read_file PATH: its exact bytes into $content (trailing newlines kept)
read_file() {
    content=$(cat "$1" && printf x)
    content=${content%x}
}

status=() secs=()
killed=0 survived=0 explained=0 stale=0 broken=0
for ((i = 0; i < n; i++)); do
    f=$src/${files[i]}
    from=${froms[i]}
    t0=$(date +%s)
    st=""
    if [ ! -f "$f" ]; then
        st=stale
    else
        read_file "$f"
        orig=$content
        rest=${orig#*"$from"}
        if [ "$rest" = "$orig" ] || [ "${rest#*"$from"}" != "$rest" ]; then
            st=stale # absent, or more than once
        fi
    fi
    if [ -z "$st" ]; then
        printf '%s' "${orig/"$from"/"${tos[i]}"}" >"$f"
        if ! build_for "${tests[i]}"; then
            st=build-error
            cp "$dir/build.log" "$dir/${ids[i]}.build.log"
        elif ctest --test-dir "$bld" -R "${tests[i]}" --timeout "$limit" --no-tests=error \
            >"$dir/${ids[i]}.log" 2>&1; then
            if [ -n "${whys[i]}" ]; then st=explained; else st=SURVIVED; fi
        elif grep -q "No tests were found" "$dir/${ids[i]}.log"; then
            st=no-tests
        else
            st=killed
        fi
        printf '%s' "$orig" >"$f"
    fi
    case $st in
    killed) killed=$((killed + 1)) ;;
    SURVIVED) survived=$((survived + 1)) ;;
    explained) explained=$((explained + 1)) ;;
    stale | no-tests) stale=$((stale + 1)) ;;
    build-error) broken=$((broken + 1)) ;;
    esac
    status+=("$st")
    secs+=($(($(date +%s) - t0)))
    printf 'mutate: %3d/%d %-24s %s\n' $((i + 1)) "$n" "${ids[i]}" "$st" >&2
done
build || echo "mutate: the restored copy does not build; see $dir/build.log" >&2

# ---------------------------------------------------------- the table

printf '\n%-24s %-28s %-11s %5s  %s\n' mutant file result secs tests
for ((i = 0; i < n; i++)); do
    printf '%-24s %-28s %-11s %5s  %s\n' "${ids[i]}" "${files[i]}" "${status[i]}" "${secs[i]}" \
        "${tests[i]}"
done
for ((i = 0; i < n; i++)); do
    case ${status[i]} in
    explained) printf '  %s survives: %s\n' "${ids[i]}" "${whys[i]}" ;;
    SURVIVED) printf '  %s SURVIVES, unexplained: add a test or a why:\n' "${ids[i]}" ;;
    stale) printf '  %s is stale: its from: text is not in %s exactly once\n' "${ids[i]}" \
        "${files[i]}" ;;
    no-tests) printf '  %s names no test: %s\n' "${ids[i]}" "${tests[i]}" ;;
    build-error) printf '  %s does not build (%s/%s.build.log)\n' "${ids[i]}" "$dir" "${ids[i]}" ;;
    esac
done
counted=$((n - stale - broken))
if ((counted)); then
    score=$(awk -v k=$killed -v c=$counted 'BEGIN { printf "%.1f", 100 * k / c }')
else
    score="n/a"
fi
printf '\nmutants %d: killed %d, survived %d (%d explained), stale %d, build errors %d\n' \
    "$n" "$killed" $((survived + explained)) "$explained" "$stale" "$broken"
printf 'score: %d / %d = %s%%\n' "$killed" "$counted" "$score"
((survived == 0))
