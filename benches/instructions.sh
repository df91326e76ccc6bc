#!/usr/bin/env bash
# Instructions per request of each contender that needs no server, counted by valgrind's
# callgrind over the in-process `handler-cost` driver: repeatable whatever else the machine
# does, unlike requests/s. Only the router's work is counted (inside `Oneshot::poll`), not the
# driver's cookie jar. Each contender runs twice (N and 2N requests after the same warm-up);
# the difference divided by N is the cost of one request, without start-up.
#
# Usage: bash benches/instructions.sh [N]     (default N = 2000; needs valgrind)
# CONTENDERS="ours-memory ours-memory-metadata ours-memory-events" picks others; FEATURES=metrics
# builds the driver with the crate's metrics on (for ours-memory-metrics; see BENCHMARKS.md).
# Under valgrind, sha2 cannot use the CPU's SHA extensions and falls back to software, so
# HMAC-SHA256 weighs more here than on the real CPU (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
contenders="${CONTENDERS:-bare-axum axum-extra-signed ours-cookie ts-memory ours-memory}"
cargo build --release -q --manifest-path benches/load/Cargo.toml --bin handler-cost \
    --features "${FEATURES:-}"
# benches/load is a workspace of its own: it builds into benches/load/target unless
# CARGO_TARGET_DIR says otherwise.
bin="${CARGO_TARGET_DIR:-benches/load/target}/release/handler-cost"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # contender workload requests -> "total-instructions sha256-instructions"
    valgrind --tool=callgrind --toggle-collect='*Oneshot*as*Future*poll*' \
        --callgrind-out-file="$out/cg" "$bin" --only "$1" --workloads "$2" \
        --requests "$3" >/dev/null 2>"$out/log"
    local total sha
    total=$(grep -m1 -oP 'Collected : \K[0-9]+' "$out/log")
    sha=$(callgrind_annotate "$out/cg" 2>/dev/null | awk '/sha2::sha256::compress256/ { gsub(",", "", $1); print $1; exit }')
    echo "$total ${sha:-0}"
}

printf '| contender | workload | instructions / request | vs first | of which SHA-256 | without SHA-256, vs first |\n'
printf '|---|---|---:|---:|---:|---:|\n'
for workload in write read; do
    base=""
    for contender in $contenders; do
        read -r total1 sha1 <<<"$(count "$contender" "$workload" "$n")"
        read -r total2 sha2 <<<"$(count "$contender" "$workload" $((2 * n)))"
        per=$(( (total2 - total1) / n ))
        sha=$(( (sha2 - sha1) / n ))
        [ -z "$base" ] && base=$per
        printf '| %s | %s | %d | %s | %d | %s |\n' "$contender" "$workload" "$per" \
            "$(awk -v a="$per" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')" "$sha" \
            "$(awk -v a="$((per - sha))" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')"
    done
done
