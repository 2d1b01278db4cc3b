#!/usr/bin/env bash
# Installs the DNS tools the forward/cache tests and benches run against (unbound, dnsmasq, dig,
# dnsperf) from Debian's packages, without starting their system services. Fast no-op when present.
set -uo pipefail

# binary:package pairs; dnsmasq-base has the binary without the init script and service.
TOOLS=(unbound:unbound dnsmasq:dnsmasq-base dig:dnsutils dnsperf:dnsperf)
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for t in "${TOOLS[@]}"; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "ensure-tools: unbound, dnsmasq, dig and dnsperf already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: WARNING: apt-get not found, cannot install ${missing[*]}; tests that need them will skip" >&2
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ensure-tools: WARNING: not root and no sudo, cannot install ${missing[*]}; tests that need them will skip" >&2
    exit 0
  fi
  SUDO=(sudo -n)
fi

pids_of() { # pids whose command name is $1 (no pgrep in slim images)
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"
  done
}
before=" $(pids_of unbound) $(pids_of dnsmasq) "

# Debian's postinst scripts start services through invoke-rc.d; policy-rc.d exiting 101 forbids it.
POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null && "${SUDO[@]}" chmod 755 "$POLICY" && made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && "${SUDO[@]}" rm -f "$POLICY"; }
trap cleanup EXIT

apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/ensure-tools-apt.log 2>&1
}
updated=""
# No package lists at all: update first. Stale lists (404s) show up as a failed install: update, retry.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || ! apt_install; then
  "${SUDO[@]}" apt-get update >>/tmp/ensure-tools-apt.log 2>&1
  updated=" (after apt-get update)"
  if ! apt_install; then
    echo "ensure-tools: WARNING: apt-get install ${missing[*]} failed (see /tmp/ensure-tools-apt.log); tests that need them will skip" >&2
    exit 0
  fi
fi

# Belt and braces: end any unbound/dnsmasq the install itself started (pids that were not there before).
for p in $(pids_of unbound) $(pids_of dnsmasq); do
  case "$before" in *" $p "*) ;; *) "${SUDO[@]}" kill "$p" 2>/dev/null ;; esac
done
echo "ensure-tools: installed ${missing[*]}$updated"
