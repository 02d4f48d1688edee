#!/usr/bin/env bash
# npm run test-tools: installs what the API-contract tests drive, if absent.
#   - schemathesis (from PyPI, pinned) in a virtualenv under the Annal cache
#     ($ANNAL_CACHE, else $XDG_CACHE_HOME/annal, else ~/.cache/annal): test/e2e/api-contract.test.ts
#   - Debian's chromium (apt-get, as root): test/e2e/api-reference.test.ts
#   - Debian's softhsm2 and opensc (apt-get, as root): the PKCS#11 signing key tests
#     (test/integration/signer-contract.test.ts, pkcs11-ledger.test.ts) use SoftHSM2's
#     module and pkcs11-tool
# Idempotent; prints where each tool is. Exit 1 if one cannot be installed.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
cache="${ANNAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/annal}"
venv="$cache/tools/schemathesis-$SCHEMATHESIS_VERSION"
failed=0

# The stamp is written last, so an interrupted install is redone rather than trusted.
if [ -x "$venv/bin/st" ] && [ -f "$venv/.installed" ]; then
  echo "ok    schemathesis $SCHEMATHESIS_VERSION: $venv/bin/st"
else
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    echo "FAIL  python3 not found: install Python 3.10+ (Debian: apt-get install python3 python3-venv)" >&2
    failed=1
  else
    rm -rf "$venv"
    mkdir -p "$cache/tools"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    touch "$venv/.installed"
    echo "ok    schemathesis $SCHEMATHESIS_VERSION installed: $venv/bin/st"
  fi
fi

chromium=$(command -v chromium || true)
if [ -n "$chromium" ]; then
  echo "ok    chromium: $chromium"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  echo "ok    chromium installed: $(command -v chromium)"
else
  echo "FAIL  chromium not found: install Debian's chromium (sudo apt-get install chromium), or set ANNAL_CHROMIUM to a Chromium binary" >&2
  failed=1
fi
# Debian packages: apt-get update once, only when one is missing.
apt_updated=0
apt_install() { # <command or file that proves it> <package>
  if [ -e "$1" ] || command -v "$1" >/dev/null 2>&1; then
    echo "ok    $2: $(command -v "$1" || echo "$1")"
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ $apt_updated = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    echo "ok    $2 installed"
  else
    echo "FAIL  $2 not found: install Debian's $2 (sudo apt-get install $2)" >&2
    failed=1
  fi
}
softhsm_module=/usr/lib/softhsm/libsofthsm2.so
[ -e "$softhsm_module" ] || softhsm_module=$(ls /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1 || true)
apt_install "${softhsm_module:-/usr/lib/softhsm/libsofthsm2.so}" softhsm2
apt_install pkcs11-tool opensc
exit $failed
