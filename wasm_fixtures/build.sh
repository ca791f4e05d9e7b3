#!/usr/bin/env bash
# Rebuild every WebAssembly fixture in this directory.
#
#   bash wasm_fixtures/build.sh PYTHON
#
# PYTHON must be an interpreter that can `import wasmtime` (used for the
# .wat files).  The C fixtures need clang, wasm-ld, wasi-libc and the
# wasm32 compiler-rt builtins; on Debian/Ubuntu these are installed with
# apt-get when missing.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 PYTHON" >&2
    exit 2
fi
PYTHON=$1
# Resolve a relative interpreter path before changing directory.
case "$PYTHON" in
    */*) PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON") ;;
esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"

# Debian's wasi-libc installs a multiarch sysroot: headers under
# /usr/include/wasm32-wasi and libraries under /usr/lib/wasm32-wasi.
SYSROOT=${WASI_SYSROOT:-/usr}
CC=${CC_WASM:-clang}
TARGET=wasm32-wasi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

have_sysroot() {
    [ -f "$SYSROOT/lib/$TARGET/libc.a" ] && [ -f "$SYSROOT/include/$TARGET/stdio.h" ]
}

have_builtins() {
    local rt
    rt=$("$CC" --target="$TARGET" -print-libgcc-file-name 2>/dev/null) || return 1
    [ -f "$rt" ]
}

ensure_toolchain() {
    local updated=0
    if ! command -v "$CC" >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1 || ! have_sysroot; then
        as_root apt-get update
        updated=1
        apt_install clang lld wasi-libc
    fi
    if ! have_builtins; then
        # The compiler-rt package has to match clang's major version.
        local major
        major=$("$CC" -dumpversion | cut -d. -f1)
        if [ "$updated" -eq 0 ]; then
            as_root apt-get update
        fi
        apt_install "libclang-rt-${major}-dev-wasm32"
    fi
}

ensure_toolchain
echo "using $("$CC" --version | head -n 1)"

CFLAGS=(
    --target="$TARGET"
    --sysroot="$SYSROOT"
    -O2
    -mexec-model=reactor
    -Wall -Wextra -Werror
)
LDFLAGS=(
    -Wl,--export=malloc
    -Wl,--export=free
    # 259 pages: large enough for ordinary use, small enough that
    # malloc(128 MiB) fails and returns NULL.
    -Wl,--max-memory=16973824
    -Wl,--strip-debug
)

shopt -s nullglob
for src in *.c; do
    # the WASI commands are built below, as commands
    case "$src" in wasi_*.c | prog.c) continue ;; esac
    out=${src%.c}.wasm
    echo "clang $src -> $out"
    "$CC" "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$out" "$src"
    chmod 0644 "$out"
done

# WASI commands (tests/test_wasi_preview1.py compares them under wasmtime's WASI
# and workers.wasi_preview1; prog.c is beamr.run's test program): a _start,
# wasi-libc's default memory, no other exports.
for src in wasi_*.c prog.c; do
    out=${src%.c}.wasm
    echo "clang $src -> $out (command)"
    "$CC" --target="$TARGET" --sysroot="$SYSROOT" -O2 -Wall -Wextra -Werror \
        -Wl,--strip-debug -o "$out" "$src"
    chmod 0644 "$out"
done

wats=(*.wat)
if [ "${#wats[@]}" -gt 0 ]; then
    "$PYTHON" build_wat.py "${wats[@]}"
fi
