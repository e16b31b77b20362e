#!/usr/bin/env bash
# Install the system packages the tests need when they are missing:
#   - a Java runtime, for the HermiT reasoner that owlready2 drives;
#   - Debian's Chromium, for the browser tests (Playwright drives /usr/bin/chromium);
#   - libseccomp2, for the query workers' network barrier (coprod_kg/sandbox.py).
#   - Virtuoso 7, a second SPARQL server for the remote suite (scripts/virtuoso.sh runs it).
# Needs root (CI runs as root); elsewhere it only says what is missing.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || missing+=(libseccomp2)
command -v virtuoso-t >/dev/null 2>&1 || missing+=(virtuoso-opensource-7)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; install them (as root: apt-get install -y ${missing[*]})." >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
