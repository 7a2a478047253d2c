#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need, where they are
# missing: through apt-get, as root or with sudo. With --dev, also the fuzzing toolchain
# (clang and its libFuzzer runtime, as Debian 12 names them) and php-curl for the benchmarks.
set -euo pipefail

packages=(
  make gcc pkg-config git ca-certificates openssl curl
  lua5.4 liblua5.4-dev lua-cjson lua-dkjson lua-busted lua-check luarocks
  libssl-dev libcurl4-openssl-dev libmicrohttpd-dev
  php-cli php-sqlite3
  valgrind cppcheck locales
)
if [ "${1:-}" = "--dev" ]; then
  packages+=(clang libclang-rt-14-dev php-curl)
fi

# The inbox's spec stores under a locale whose decimal point is a comma; Debian's `locales`
# package has the definition, which localedef compiles when `locale -a` lacks it.
ensure_locale() {
  locale -a 2>/dev/null | grep -qix 'ru_RU.utf-\?8' && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "making the locale ru_RU.UTF-8" >&2
  $sudo localedef -i ru_RU -f UTF-8 ru_RU.UTF-8
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  ensure_locale
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
ensure_locale
