# shellcheck shell=bash
# tests/lib/remote.sh - the remote tests' run matrix, after tests/lib/cli.sh:
# every policy run all-local, then with each pairing of local and remote
# models, each run compared with the local one.
#   remote_matrix ROUTED CHECK_EXTRA
#     reads the arrays policies ("NAME|OPTIONS") and pairs ("NAME|MODEL
#     OPTIONS"), the local models $slm and $llm, and a function run NAME
#     ARGS... that writes $tmp/NAME.json and $tmp/NAME.err; ROUTED FILE
#     prints what must agree; CHECK_EXTRA LOCAL REMOTE LABEL (or "") adds
#     checks of its own to each pair.

remote_matrix() {
    local routed=$1 extra=$2 pol pname pair name rc want
    local -a pargs margs
    for pol in "${policies[@]}"; do
        pname=${pol%%|*}
        # shellcheck disable=SC2206 # the options split on spaces on purpose
        pargs=(${pol#*|})
        run "local-$pname" --slm "$slm" --llm "$llm" "${pargs[@]}"
        check "$pname local: exit 0" test $? -eq 0
        want=$("$routed" "$tmp/local-$pname.json")
        for pair in "${pairs[@]}"; do
            name=${pair%%|*}
            # shellcheck disable=SC2206
            margs=(${pair#*|})
            run "$name-$pname" "${margs[@]}" "${pargs[@]}"
            rc=$?
            check "$pname $name: exit 0" test $rc -eq 0
            [ $rc -eq 0 ] || cat "$tmp/$name-$pname.err"
            check "$pname $name: what the local run wrote and how it was routed" \
                same "$("$routed" "$tmp/$name-$pname.json")" "$want"
            [ -z "$extra" ] ||
                "$extra" "$tmp/local-$pname.json" "$tmp/$name-$pname.json" "$pname $name"
        done
    done
}
