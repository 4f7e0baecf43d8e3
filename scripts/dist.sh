#!/usr/bin/env bash
# `make dist`: the artefacts a release would publish, built on this machine, into dist/:
#   hoopauth-<v>-cp39-abi3-manylinux_2_<N>_x86_64.whl  the wheel (maturin --release --strip, tagged
#                                     with the manylinux policy maturin's auditwheel check accepts)
#   hoopauth-<v>.tar.gz               the sdist (checked: it builds in a clean venv from PyPI alone)
#   hoopauth-node-<v>.tgz             @hoopauth/node: JS, types and the loader, no .node
#   hoopauth-node-linux-x64-gnu-<v>.tgz  @hoopauth/node-linux-x64-gnu: the prebuilt addon (stripped)
#   hoopauth-wasm-<v>.tgz             @hoopauth/wasm: web/edge and Node builds behind export conditions
#   SIZES.md, SHA256SUMS
# One version everywhere: the workspace version in Cargo.toml; any package that disagrees fails
# the build. Env: HOOPAUTH_DIST_SDIST_CHECK=0 skips the sdist build check (it compiles the crate
# from the sdist, ~1-2 min cold); HOOPAUTH_MANYLINUX=manylinux_2_XX forces the wheel's policy.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
DIST="$ROOT/dist"
start=$(date +%s)
fail() { echo "dist: $*" >&2; exit 1; }
timings=()
lap() { local now; now=$(date +%s); timings+=("$(printf '%-34s %3d s' "$1" $((now - ${LAP_T:-$start})))"); LAP_T=$now; }
json() { node -p "require('$1')$2"; }

# ---- one version -------------------------------------------------------------------------
V="$(awk '/^\[workspace.package\]/{f=1} f&&/^version *=/{gsub(/version *= *|"/,""); print; exit}' Cargo.toml)"
[ -n "$V" ] || fail "no [workspace.package] version in Cargo.toml"
check_versions() {
  local bad=0 f v
  for f in core bindings-python bindings-node bindings-wasm; do
    grep -Eq '^version(\.workspace *= *true| *= *\{ *workspace *= *true *\})' "$f/Cargo.toml" \
      || { echo "  $f/Cargo.toml does not take version.workspace" >&2; bad=1; }
  done
  v="$(awk -F'"' '/^version *=/{print $2; exit}' bindings-python/pyproject.toml)"
  [ "$v" = "$V" ] || { echo "  bindings-python/pyproject.toml version $v" >&2; bad=1; }
  for f in bindings-node/package.json bindings-node/npm/*/package.json bindings-wasm/package.json "$@"; do
    v="$(json "$ROOT/$f" .version)"
    [ "$v" = "$V" ] || { echo "  $f version $v" >&2; bad=1; }
  done
  # the main Node package pins every per-platform package at the same version
  for f in bindings-node/npm/*/package.json; do
    local name; name="$(json "$ROOT/$f" .name)"
    v="$(node -p "(require('$ROOT/bindings-node/package.json').optionalDependencies||{})['$name']")"
    [ "$v" = "$V" ] || { echo "  bindings-node/package.json optionalDependencies[$name] = $v" >&2; bad=1; }
  done
  [ $bad = 0 ] || fail "versions disagree with the workspace version $V (Cargo.toml [workspace.package])"
}
say "dist $V: versions"
check_versions
rm -rf "$DIST"; mkdir -p "$DIST"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# ---- tools (set up only what is missing) -------------------------------------------------
[ -x "$VENV/bin/maturin" ] || "$ROOT/scripts/setup/python.sh"
[ -x bindings-node/node_modules/.bin/napi ] || (cd bindings-node && npm install --no-audit --no-fund)
{ have wasm-bindgen && [ -x bindings-wasm/node_modules/.bin/wasm-opt ]; } || "$ROOT/scripts/setup/wasm.sh"

# ---- Python: the wheel -------------------------------------------------------------------
say "wheel: maturin build --release --strip (manylinux policy from maturin's auditwheel check)"
maturin_build() {  # $1 = compatibility; output in $tmp/wheel.log
  (cd bindings-python && "$VENV/bin/maturin" build --release --strip --interpreter "$VENV/bin/python" \
    --compatibility "$1" --out "$tmp/wheels") >"$tmp/wheel.log" 2>&1
}
tag="${HOOPAUTH_MANYLINUX:-manylinux_2_17}"
if ! maturin_build "$tag"; then
  # "... not manylinux_2_17 compliant because of ... offending versions: GLIBC_2.33, GLIBC_2.34"
  need="$(grep -o 'GLIBC_2\.[0-9]*' "$tmp/wheel.log" | sed 's/GLIBC_2\.//' | sort -n | tail -1 || true)"
  if [ -z "${HOOPAUTH_MANYLINUX:-}" ] && [ -n "$need" ]; then
    echo "auditwheel: not $tag (symbols up to GLIBC_2.$need): building for manylinux_2_$need"
    tag="manylinux_2_$need"
    maturin_build "$tag" || { cat "$tmp/wheel.log" >&2; fail "maturin build --compatibility $tag failed"; }
  else
    cat "$tmp/wheel.log" >&2; fail "maturin build --compatibility $tag failed"
  fi
fi
grep -E 'Built wheel|auditwheel|compliant' "$tmp/wheel.log" || true
whl="$(ls "$tmp"/wheels/hoopauth-"$V"-*.whl)"
case "$whl" in *-cp39-abi3-"$tag"_x86_64.whl) ;; *) fail "unexpected wheel name: $whl" ;; esac
cp "$whl" "$DIST/"
whl="$DIST/$(basename "$whl")"
lap "wheel ($tag)"

# ---- Python: the sdist -------------------------------------------------------------------
say "sdist: maturin sdist"
(cd bindings-python && "$VENV/bin/maturin" sdist --out "$tmp/sdist") >"$tmp/sdist.log" 2>&1 \
  || { cat "$tmp/sdist.log" >&2; fail "maturin sdist failed"; }
sdist="$tmp/sdist/hoopauth-$V.tar.gz"
[ -f "$sdist" ] || fail "no $sdist"
# The sdist carries the workspace crates it builds from (maturin rewrites the workspace to them).
listing="$(tar tzf "$sdist")"
for f in Cargo.toml Cargo.lock pyproject.toml core/Cargo.toml core/src/lib.rs bindings-python/Cargo.toml \
         bindings-python/src/lib.rs python/hoopauth/__init__.py python/hoopauth/py.typed; do
  grep -qx "hoopauth-$V/$f" <<<"$listing" || fail "sdist lacks $f"
done
tar xzf "$sdist" -O "hoopauth-$V/Cargo.toml" | grep -q 'members = \["core", "bindings-python"\]' \
  || fail "the sdist's workspace is not [core, bindings-python]"
cp "$sdist" "$DIST/"
sdist="$DIST/hoopauth-$V.tar.gz"
if [ "${HOOPAUTH_DIST_SDIST_CHECK:-1}" != 0 ]; then
  say "sdist check: pip install hoopauth-$V.tar.gz in a clean venv (PEP 517 via maturin from PyPI)"
  python3 -m venv "$tmp/sdist-venv"
  # a target dir of its own, kept between runs (the sdist's crates build from a new path each time)
  CARGO_TARGET_DIR="$ROOT/target/sdist-check" "$tmp/sdist-venv/bin/pip" install -q --disable-pip-version-check "$sdist"
  (cd "$tmp" && "$tmp/sdist-venv/bin/python" -c "
import hoopauth, json
t = hoopauth.parse_token_response(200, json.dumps({'access_token': 'a', 'expires_in': 1}), 0)
assert t.expires_at_ms == 1000 and hoopauth.__version__ == '$V', hoopauth.__version__
print('sdist builds and imports:', hoopauth.__version__)")
fi
lap "sdist + its clean-venv build check"

# ---- Node: @hoopauth/node and @hoopauth/node-linux-x64-gnu --------------------------------
say "node: napi build --release, the addon into npm/<platform>/, npm pack"
cp tests/js/api.d.ts bindings-node/api.d.ts      # as scripts/setup/node.sh does
(cd bindings-node && npx napi build --platform --release --js native.js --dts native.d.ts) >"$tmp/napi.log" 2>&1 \
  || { cat "$tmp/napi.log" >&2; fail "napi build failed"; }
# The per-platform package dirs are napi-rs's (`napi create-npm-dirs`, committed); each gets its
# <binaryName>.<platform>.node, stripped. (A plain copy: `napi artifacts` does the same but also
# rewrites index.js/index.mjs and the local .node in place.)
for d in bindings-node/npm/*/; do
  main="$(json "$ROOT/$d/package.json" .main)"
  [ -f "bindings-node/$main" ] || fail "napi build did not make bindings-node/$main"
  cp "bindings-node/$main" "$d$main"
  if have strip; then strip --strip-unneeded "$d$main"; fi
done
pack() {  # $1 = package dir; prints the tarball's path; sizes in $DIST/.sizes.tsv
  local out
  out="$(cd "$1" && npm pack --json --pack-destination "$DIST" 2>"$tmp/pack.err")" \
    || { cat "$tmp/pack.err" >&2; fail "npm pack $1 failed"; }
  node -e '
    const [r] = JSON.parse(process.argv[1]);
    require("fs").appendFileSync(process.argv[2], [r.name, r.filename, r.size, r.unpackedSize, r.entryCount].join("\t") + "\n");
    console.log(r.filename);' "$out" "$DIST/.sizes.tsv"
}
for d in bindings-node/npm/*/; do pack "$d" >/dev/null; done
pack bindings-node >/dev/null
lap "node: napi build + 2 tarballs"

# ---- WASM: @hoopauth/wasm ----------------------------------------------------------------
say "wasm: bindings-wasm/build.sh, npm pack bindings-wasm/pkg"
bindings-wasm/build.sh >"$tmp/wasm.log" 2>&1 || { cat "$tmp/wasm.log" >&2; fail "bindings-wasm/build.sh failed"; }
tail -1 "$tmp/wasm.log"
[ "$(json "$ROOT/bindings-wasm/pkg/package.json" .name)" = "@hoopauth/wasm" ] || fail "bindings-wasm/pkg is not @hoopauth/wasm"
check_versions bindings-wasm/pkg/package.json
pack bindings-wasm/pkg >/dev/null
lap "wasm: build.sh + tarball"

# ---- what the tarballs hold ---------------------------------------------------------------
say "check the tarballs"
tgz() { echo "$DIST/$(awk -F'\t' -v n="$1" '$1==n{print $2}' "$DIST/.sizes.tsv")"; }
NODE_TGZ="$(tgz @hoopauth/node)"; PLAT_TGZ="$(tgz @hoopauth/node-linux-x64-gnu)"; WASM_TGZ="$(tgz @hoopauth/wasm)"
tar tzf "$NODE_TGZ" > "$tmp/node.lst"; tar tzf "$PLAT_TGZ" > "$tmp/plat.lst"; tar tzf "$WASM_TGZ" > "$tmp/wasm.lst"
for f in package/index.js package/index.mjs package/index.d.ts package/api.d.ts package/native.js package/lib/api.js; do
  grep -qx "$f" "$tmp/node.lst" || fail "$(basename "$NODE_TGZ") lacks ${f#package/}"
done
! grep -q '\.node$' "$tmp/node.lst" || fail "$(basename "$NODE_TGZ") carries a .node (it belongs in the platform package)"
grep -qx package/hoopauth.linux-x64-gnu.node "$tmp/plat.lst" || fail "$(basename "$PLAT_TGZ") lacks the addon"
for f in package/index.mjs package/hoopauth_wasm_bg.wasm package/node/index.js package/node/hoopauth_wasm_bg.wasm; do
  grep -qx "$f" "$tmp/wasm.lst" || fail "$(basename "$WASM_TGZ") lacks ${f#package/}"
done
node -e '
  const p = JSON.parse(require("child_process").execFileSync("tar", ["xzf", process.argv[1], "-O", "package/package.json"]));
  const v = process.argv[2];
  if (p.version !== v) throw new Error(`@hoopauth/node ${p.version} != ${v}`);
  for (const [n, r] of Object.entries(p.optionalDependencies || {})) if (r !== v) throw new Error(`${n}@${r} != ${v}`);
  if (!p.optionalDependencies || !p.optionalDependencies["@hoopauth/node-linux-x64-gnu"]) throw new Error("no optionalDependencies");
' "$NODE_TGZ" "$V"

# ---- sizes --------------------------------------------------------------------------------
say "sizes: dist/SIZES.md"
python3 - "$DIST" "$V" "$tag" <<'PY'
import os, sys, tarfile, zipfile
dist, version, tag = sys.argv[1], sys.argv[2], sys.argv[3]
kb = lambda n: f"{n / 1000:.0f} kB" if n < 10**6 else f"{n / 10**6:.2f} MB"
rows = []
for f in sorted(os.listdir(dist)):
    p = os.path.join(dist, f)
    if f.endswith(".whl"):
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
            rows.append((f"`hoopauth` wheel ({tag}, abi3, CPython >= 3.9)", f, os.path.getsize(p), sum(i.file_size for i in infos), len(infos)))
    elif f.endswith(".tar.gz"):
        with tarfile.open(p) as t:
            members = [m for m in t.getmembers() if m.isfile()]
            rows.append(("`hoopauth` sdist (needs Rust to install)", f, os.path.getsize(p), sum(m.size for m in members), len(members)))
for line in open(os.path.join(dist, ".sizes.tsv")):
    name, f, size, unpacked, count = line.rstrip("\n").split("\t")
    what = {"@hoopauth/node": "`@hoopauth/node` (JS, types, loader; no addon)",
            "@hoopauth/wasm": "`@hoopauth/wasm` (web/edge + Node builds, split by `exports`)"}.get(name, f"`{name}` (prebuilt addon, stripped)")
    rows.append((what, f, int(size), int(unpacked), int(count)))
with open(os.path.join(dist, "SIZES.md"), "w") as out:
    out.write(f"# hoopauth {version}: artefacts of `make dist`\n\n")
    out.write("| artefact | file | packed | unpacked | files |\n|---|---|---:|---:|---:|\n")
    for what, f, size, unpacked, count in rows:
        out.write(f"| {what} | `{f}` | {kb(size)} | {kb(unpacked)} | {count} |\n")
    out.write("\nPacked: the file's size; unpacked: the sum of its files. `scripts/dist.sh` writes this table.\n")
print(open(os.path.join(dist, "SIZES.md")).read())
PY
rm -f "$DIST/.sizes.tsv"
(cd "$DIST" && sha256sum -- *.whl *.tar.gz *.tgz > SHA256SUMS)
ls -l "$DIST"
printf '  %s\n' "${timings[@]}"
say "dist done in $(( $(date +%s) - start )) s (wheel tag: $tag)"
