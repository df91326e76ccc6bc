#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), one after the other, and fails if any
# of them finds a crash (a panic, a failed assertion, or a sanitizer report).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]     (from anywhere; default: every target)
#
# - Installs cargo-fuzz when it is missing (`cargo install cargo-fuzz --locked`).
# - cargo-fuzz builds with nightly-only flags (`-Zsanitizer=address`, sanitizer-coverage
#   options). This script sets RUSTC_BOOTSTRAP=1, which lets a stable toolchain accept them, so
#   no nightly is needed; it only affects the fuzz build (its own target dir, fuzz/target).
#   Set FUZZ_SANITIZER=none to build without AddressSanitizer (faster; the crate forbids
#   `unsafe` code, so ASan mostly watches the dependencies).
# - Seeds are read from fuzz/corpus/<target>/ (committed, made by
#   `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`); what the fuzzer adds goes
#   to fuzz/work/<target>/ (ignored by git), so the seed corpus stays small and readable.
# - A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz <target> fuzz/artifacts/<target>/<file>`.
#   Each target's full log is in fuzz/work/<target>.log.
set -uo pipefail

seconds="${1:-30}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir/.." || exit 2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 2
fi

export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-address}"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi

# Build every target first, so the time limit is spent fuzzing.
echo "== building ${targets[*]} (sanitizer: $sanitizer)"
cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer "$sanitizer" || exit 2

# What a target needs beyond the time limit. slow_inputs builds requests of up to 1 MiB of
# headers: a large -max_len lets its raw inputs grow too, and a short -timeout fails any input
# whose cost grows faster than its size (the slowest at these sizes take well under a second).
options() {
    case "$1" in
        slow_inputs) echo "-max_len=262144 -timeout=5 -report_slow_units=1" ;;
    esac
}

failed=()
summary=()
for target in "${targets[@]}"; do
    work="$fuzz_dir/work/$target"
    seeds="$fuzz_dir/corpus/$target"
    log="$fuzz_dir/work/$target.log"
    mkdir -p "$work" "$seeds"
    echo "== $target: ${seconds}s $(options "$target")"
    # shellcheck disable=SC2046 # the options are words
    cargo fuzz run --fuzz-dir "$fuzz_dir" --sanitizer "$sanitizer" "$target" "$work" "$seeds" -- \
        -max_total_time="$seconds" -print_final_stats=1 $(options "$target") >"$log" 2>&1
    status=$?
    runs="$(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+')"
    [ -n "$runs" ] || runs="$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)"
    cov="$(grep -oE '(cov|ft): [0-9]+' "$log" | tail -2 | tr '\n' ' ')"
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        summary+=("$target: FAILED (exit $status) after ${runs:-?} runs; see $log")
        grep -E 'panicked|ERROR: |SUMMARY|Test unit written' "$log" | head -20
    else
        summary+=("$target: ok, ${runs:-?} runs in ${seconds}s ${cov}")
    fi
    tail -3 "$log"
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashes found in: ${failed[*]}" >&2
    exit 1
fi
