#!/usr/bin/env bats
# The pipeline as a user types it, on the Grid'5000 snapshot (dry run: no platform needed).

setup() {
    cd "$BATS_TEST_DIRNAME/.."
    export PATH="$PWD/.venv/bin:$PATH"
    TMP=$(mktemp -d)
}

teardown() { rm -rf "$TMP"; }

@test "vm5k-topo plans 100 VMs on lyon and the document validates" {
    run bash -c 'vm5k-topo --platform g5k --dry-run -q -n 100 -r lyon | vm5k-doc validate'
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: 100 VMs"* ]]
}

@test "the state XML round-trips through vm5k-topo" {
    vm5k-topo --platform g5k --dry-run -q -n 4 -r taurus:2 > "$TMP/a.json"
    vm5k-doc convert --xml -i "$TMP/a.json" > "$TMP/state.xml"
    grep -q '<vm id="vm-4"' "$TMP/state.xml"
    run bash -c "vm5k-doc convert -i $TMP/state.xml | jq -r '.vms | length'"
    [ "$output" = 4 ]
}

@test "bad input: exit 2, one line on stderr, nothing on stdout" {
    run bash -c 'echo "{oops" | vm5k-topo --platform g5k -i - 2>&1 >/dev/null'
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "vm5k-topo: error: stdin line 1 column 2: invalid JSON"* ]]
}

@test "no resources: exit 4 and the document is still written" {
    run bash -c 'vm5k-topo --platform g5k --dry-run -q -n 5000 -r taurus 2>/dev/null | jq -r ".events[-1].status"'
    [ "$output" = 4 ]
}

@test "--help shows examples and the exit statuses" {
    run vm5k-topo --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Examples:"* && *"4 no resources"* ]]
}
