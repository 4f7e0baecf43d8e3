# Shared helpers for the set-up and test scripts. Source it: `. "$(dirname "$0")/../lib.sh"`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export HOOPAUTH_VECTORS="${HOOPAUTH_VECTORS:-$(cd "$ROOT/.." && pwd)/shared/vectors}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_PROFILE_DEV_DEBUG=0
# Rust installed by rustup (and every `cargo install`ed tool) lives here on a fresh machine.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$CARGO_BIN:$PATH" ;; esac
[ -d "$HOME/.cargo/bin" ] && case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) export PATH="$PATH:$HOME/.cargo/bin" ;; esac
VENV="$ROOT/.venv"
export HOOPAUTH_EMULATOR_BIN="${HOOPAUTH_EMULATOR_BIN:-$ROOT/target/debug/hoopauth-emulator}"

say() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
# Run as root or through sudo.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# The wasm-bindgen version pinned in Cargo.lock.
wasm_bindgen_version() { awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock"; }
build_emulator() { (cd "$ROOT" && cargo build -q -p hoopauth-emulator); }
