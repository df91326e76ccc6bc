#!/usr/bin/env python3
"""Fails when the declared rust-version is below what the dependency tree requires.

Reads `cargo metadata` (every feature on) and walks from this package through its normal, build
and dev dependencies: the library and its tests must build with the declared toolchain. Prints
the package that needs the newest Rust, so a bump says why.
"""
import json
import subprocess
import sys

ROOT = "axum-session-store"


def version(text):
    """`1.88` and `1.88.0` alike, as a comparable (major, minor, patch)."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
packages = {p["id"]: p for p in metadata["packages"]}
nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
root = next(p for p in metadata["packages"] if p["name"] == ROOT and p["source"] is None)
declared = root.get("rust_version")
if not declared:
    sys.exit(f"{ROOT} declares no rust-version in Cargo.toml")

seen, pending = set(), [root["id"]]
while pending:
    node = nodes[pending.pop()]
    if node["id"] in seen:
        continue
    seen.add(node["id"])
    for dep in node["deps"]:
        kinds = {k["kind"] or "normal" for k in dep["dep_kinds"]}
        # Dev dependencies count only for this package: theirs are never built.
        if node["id"] != root["id"]:
            kinds.discard("dev")
        if kinds:
            pending.append(dep["pkg"])

needs = max(
    (
        (packages[i].get("rust_version") or "0", packages[i]["name"], packages[i]["version"])
        for i in seen
        if i != root["id"]
    ),
    key=lambda row: version(row[0]),
)
if version(needs[0]) > version(declared):
    sys.exit(
        f"rust-version = {declared!r} in Cargo.toml, but {needs[1]} {needs[2]} needs Rust {needs[0]}: "
        f"raise rust-version to {needs[0]} (or pin {needs[1]} to a version that builds on {declared})"
    )
print(f"rust-version {declared} covers the dependency tree (newest need: {needs[1]} {needs[2]}, Rust {needs[0]})")
