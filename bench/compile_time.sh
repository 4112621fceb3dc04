#!/usr/bin/env bash
# Compile time and expanded size of one 50-method service written with our
# #[rpc_service] and with jsonrpsee's #[rpc] macro (see BENCHMARKS.md).
#
# Generates two throwaway crates under target/compile-bench/, builds their
# dependencies once, then times a rebuild of each crate alone (dev profile,
# the median of 3) and measures the expanded source.
#   bash bench/compile_time.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/compile-bench
methods=${METHODS:-50}
rm -rf "$work/ours" "$work/jsonrpsee"
mkdir -p "$work/ours/src" "$work/jsonrpsee/src"

cat > "$work/ours/Cargo.toml" <<TOML
[package]
name = "ours"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
rpc-server = { path = "$root/rpc-server" }
[workspace]
TOML
cat > "$work/jsonrpsee/Cargo.toml" <<TOML
[package]
name = "peer"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
jsonrpsee = { version = "0.26", default-features = false, features = ["server", "macros"] }
[workspace]
TOML

{
  echo '//! A service of '"$methods"' methods.'
  echo 'use rpc_server::{RpcError, rpc_service};'
  echo '/// The service.'
  echo 'pub struct Service;'
  echo '#[rpc_service]'
  echo 'impl Service {'
  for i in $(seq 1 "$methods"); do
    echo "    /// Method $i."
    echo "    async fn method_$i(&self, a: u64, b: String) -> Result<u64, RpcError> { Ok(a + b.len() as u64 + $i) }"
  done
  echo '}'
} > "$work/ours/src/lib.rs"

{
  echo '//! A service of '"$methods"' methods.'
  echo 'use jsonrpsee::core::{RpcResult, async_trait};'
  echo 'use jsonrpsee::proc_macros::rpc;'
  echo '/// The API.'
  echo '#[rpc(server)]'
  echo 'pub trait Api {'
  for i in $(seq 1 "$methods"); do
    echo "    /// Method $i."
    echo "    #[method(name = \"method_$i\")]"
    echo "    async fn method_$i(&self, a: u64, b: String) -> RpcResult<u64>;"
  done
  echo '}'
  echo '/// The service.'
  echo 'pub struct Service;'
  echo '#[async_trait]'
  echo 'impl ApiServer for Service {'
  for i in $(seq 1 "$methods"); do
    echo "    async fn method_$i(&self, a: u64, b: String) -> RpcResult<u64> { Ok(a + b.len() as u64 + $i) }"
  done
  echo '}'
} > "$work/jsonrpsee/src/lib.rs"

export CARGO_TARGET_DIR=$work/target
# Incremental compilation would reuse nearly everything after a `touch`:
# measure the whole crate's compilation.
export CARGO_INCREMENTAL=0
for crate in ours jsonrpsee; do
  cp "$root/Cargo.lock" "$work/$crate/Cargo.lock"
  (cd "$work/$crate" && cargo build --quiet 2>/dev/null || cargo build)
done

seconds() { # crate, cargo command -> median of 3 rebuilds of the crate alone
  local times=()
  (cd "$work/$1" && cargo "$2" --quiet)
  for _ in 1 2 3; do
    touch "$work/$1/src/lib.rs"
    local start end
    start=$(date +%s.%N)
    (cd "$work/$1" && cargo "$2" --quiet)
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}
expanded() { # crate -> bytes of expanded source
  (cd "$work/$1" && RUSTC_BOOTSTRAP=1 cargo rustc --quiet --lib -- -Zunpretty=expanded 2>/dev/null | wc -c)
}

ours_s=$(seconds ours build); peer_s=$(seconds jsonrpsee build)
ours_c=$(seconds ours check); peer_c=$(seconds jsonrpsee check)
ours_b=$(expanded ours); peer_b=$(expanded jsonrpsee)
echo "| $methods-method service | rpc-server #[rpc_service] | jsonrpsee 0.26 #[rpc(server)] | ours ÷ jsonrpsee |"
echo "|---|--:|--:|--:|"
printf '| `cargo build` of the crate (dev, not incremental, median of 3) | %.2f s | %.2f s | %.2f× |\n' "$ours_s" "$peer_s" "$(echo "$ours_s / $peer_s" | bc -l)"
printf '| `cargo check` of the crate (median of 3) | %.2f s | %.2f s | %.2f× |\n' "$ours_c" "$peer_c" "$(echo "$ours_c / $peer_c" | bc -l)"
printf '| expanded source | %d KiB | %d KiB | %.2f× |\n' $((ours_b / 1024)) $((peer_b / 1024)) "$(echo "$ours_b / $peer_b" | bc -l)"
