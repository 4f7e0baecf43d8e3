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

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
# Start a throwaway redis-server on a free loopback port in directory $1 (no persistence);
# exports REDIS_URL and REDIS_PIDFILE. Stop it with stop_redis.
start_redis() {
  local dir="$1" port
  mkdir -p "$dir"
  port="$(free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$port/0" REDIS_PIDFILE="$dir/redis.pid"
}
stop_redis() { [ -n "${REDIS_PIDFILE:-}" ] && [ -f "$REDIS_PIDFILE" ] && kill "$(cat "$REDIS_PIDFILE")" 2>/dev/null || true; }
