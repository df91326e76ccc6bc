#!/usr/bin/env bash
# Every benchmark in one command, in release mode:
#   1. codec microbenchmarks (criterion, benches/load/benches/codec.rs, about a minute);
#   2. allocations per codec operation (benches/load, binary codec-allocs);
#   3. the load benchmark over HTTP on loopback (benches/load, binary load): every contender,
#      write and read workloads, one table with ratios against bare axum and the rivals.
#
# Usage: bash benches/run.sh [load flags]   e.g.  bash benches/run.sh --duration 5 --only ours,ts-
# Flags go to the load binary (see `cargo run --release --manifest-path benches/load/Cargo.toml
# --bin load -- --help`). benches/load is a workspace of its own (own Cargo.lock, builds into
# benches/load/target).
# Needs Redis at REDIS_URL (default redis://127.0.0.1:6379) and PostgreSQL at POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test); a contender whose server is missing is
# reported as FAILED and the others still run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== codec microbenchmarks (criterion)"
cargo bench --manifest-path benches/load/Cargo.toml --bench codec

echo "== allocations per codec operation"
cargo run --release -q --manifest-path benches/load/Cargo.toml --bin codec-allocs

echo "== load benchmark"
cargo run --release -q --manifest-path benches/load/Cargo.toml --bin load -- "$@"
