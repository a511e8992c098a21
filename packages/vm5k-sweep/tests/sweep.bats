#!/usr/bin/env bats
# vm5k-sweep as a user types it: run, look, break, resume, summarize.

setup() {
    cd "$BATS_TEST_DIRNAME/../../.."
    export PATH="$PWD/.venv/bin:$PATH"
    TMP=$(mktemp -d)
}

teardown() { rm -rf "$TMP"; }

@test "run a small grid, then status and results" {
    run vm5k-sweep run -q "$TMP/s" -p n=1,2 -p mem=128,256 -- sh -c 'echo "{\"vms\": [{\"mem\": $VM5K_P_MEM, \"n\": {n}}]}"'
    [ "$status" -eq 0 ]
    [ "$(vm5k-sweep status "$TMP/s" | jq -r .counts.done)" = 4 ]
    [ "$(ls "$TMP/s/runs" | wc -l)" = 4 ]
    [ "$(jq -r .state "$TMP/s/runs/n=2,mem=256/run.json")" = done ]
    run vm5k-sweep results "$TMP/s" --field 'mem=vms[0].mem' --field 'both=sum(vms[].n)'
    [ "$status" -eq 2 ]   # mem is already a column (a parameter)
    run vm5k-sweep results "$TMP/s" --field 'doc_mem=vms[0].mem' --field 'n2=sum(vms[].n)'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "key,n,mem,state,exit,attempts,start,end,duration,doc_mem,n2" ]
    [[ "${lines[4]}" == '"n=2,mem=256",2,256,done,0,1,'*',256,2' ]]
}

@test "conditional parameters and filters, seen with --dry-run" {
    run vm5k-sweep run "$TMP/s" --dry-run -p policy=one_core,one_by_core -p 'cores[policy=one_by_core]=1,2,4' \
        --filter 'cores is None or cores < 4' -- echo {policy} {cores}
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    [ "$(echo "${lines[2]}" | jq -c .argv)" = '["echo","one_by_core","2"]' ]
    [ ! -e "$TMP/s" ]
}

@test "a failing combination: exit 3, fix, --retry-failed" {
    run vm5k-sweep run -q "$TMP/s" -p n=1,2,3 -- sh -c 'test {n} != 2 || test -e '"$TMP/fixed"
    [ "$status" -eq 3 ]
    [ "$(vm5k-sweep status "$TMP/s" | jq -r '.combinations[] | select(.state == "failed") | .key')" = n=2 ]
    touch "$TMP/fixed"
    run vm5k-sweep run -q "$TMP/s" --retry-failed
    [ "$status" -eq 0 ]
}

@test "SIGTERM (or Ctrl-C) stops, exit 130; the next run resumes" {
    # SIGTERM: a background job of a non-interactive shell ignores SIGINT
    vm5k-sweep run -q "$TMP/s" -j 2 -p n=1,2,3,4 -- sh -c "sleep 1; echo {n} >> $TMP/log" &
    pid=$!
    sleep 1.5
    kill -TERM $pid
    st=0; wait $pid || st=$?
    [ "$st" -eq 130 ]
    vm5k-sweep run -q "$TMP/s"
    [ "$(sort "$TMP/log" | uniq -d)" = "" ]
    [ "$(sort -u "$TMP/log" | wc -l)" = 4 ]
    [ "$(jq -s 'map(.attempts) | add' "$TMP"/s/runs/*/run.json)" = 6 ]  # 2 interrupted, run again
}

@test "skip and reset" {
    vm5k-sweep run -q "$TMP/s" -p n=1,2,3 -- true
    vm5k-sweep skip -q "$TMP/s" --filter 'n > 2'
    vm5k-sweep reset -q "$TMP/s" n=1
    [ "$(vm5k-sweep status "$TMP/s" | jq -c '[.combinations[].state]')" = '["todo","done","skipped"]' ]
    vm5k-sweep run -q "$TMP/s"
    [ "$(vm5k-sweep status "$TMP/s" | jq -c .counts.done)" = 2 ]
}

@test "errors: exit 2 and one line, for syntax, empty grid and a foreign DIR" {
    run bash -c "vm5k-sweep run $TMP/a -p 'n=1,,2' -- true 2>&1"
    [ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "vm5k-sweep: error: bad parameter"* ]]
    run bash -c "vm5k-sweep run $TMP/b -p n=1 --filter 'n > 1' -- true 2>&1"
    [ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "vm5k-sweep: error: empty grid"* ]]
    mkdir "$TMP/c" && touch "$TMP/c/data"
    run bash -c "vm5k-sweep run $TMP/c -p n=1 -- true 2>&1"
    [ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == *"not a vm5k-sweep directory"* ]]
    vm5k-sweep run -q "$TMP/d" -p n=1 -- true
    run bash -c "vm5k-sweep run $TMP/d -p n=2 -- true 2>&1"
    [ "$status" -eq 2 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == *"holds another sweep"* ]]
}
