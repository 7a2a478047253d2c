#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need (every Lua the module
# is built for, and nginx with its lua module for the nginx specs), where they are
# missing: through apt-get, as root or with sudo. With --dev, also the fuzzing toolchain
# (clang and its libFuzzer runtime, as Debian 12 names them) and php-curl for the benchmarks.
# Then makes the locale ru_RU.UTF-8, if the machine lacks it.
set -euo pipefail

packages=(
  make gcc pkg-config git ca-certificates openssl curl
  lua5.4 liblua5.4-dev lua-cjson lua-dkjson lua-busted lua-check luarocks
  lua5.1 liblua5.1-0-dev lua5.3 liblua5.3-dev
  # OpenResty's LuaJIT, which nginx's lua module is built on (Debian's luajit would conflict)
  luajit2 libluajit2-5.1-dev nginx libnginx-mod-http-lua
  libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev sqlite3
  php-cli php-sqlite3
  valgrind cppcheck locales
  # serve_disk_spec: a tmpfs and an ext4 image to fill, prlimit for a file-size limit
  e2fsprogs util-linux mount
)
if [ "${1:-}" = "--dev" ]; then
  packages+=(clang libclang-rt-14-dev php-curl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi

# A locale with a decimal comma: the specs show numbers are read and written the same under it.
locale -a 2>/dev/null | grep -qi '^ru_RU\.utf-\?8$' || $sudo localedef -i ru_RU -f UTF-8 ru_RU.UTF-8
