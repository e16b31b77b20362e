#!/usr/bin/env bash
# Copy front-end files from npm packages into the checkout, so that no page loads anything from
# another origin at run time:
#   swagger-ui-dist (Apache-2.0) -> api/static/swagger-ui/   the API reference at /docs
#   axe-core (MPL-2.0)           -> build/npm/axe-core/      the accessibility checks of the browser tests
# Needs npm and the npm registry at build time only. Idempotent: a package whose pinned version
# is present is skipped. Usage: scripts/fetch-npm-assets.sh [swagger|axe]...  (default: both)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWAGGER_VERSION="${SWAGGER_UI_VERSION:-5.35.0}"
AXE_VERSION="${AXE_CORE_VERSION:-4.14.1}"

# fetch PACKAGE VERSION DEST FILE... : the files of package/ copied into DEST, staged then swapped.
fetch() {
  local package="$1" version="$2" dest="$3"; shift 3
  if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$version" ]; then
    local missing=0
    for f in "$@"; do [ -s "$dest/$(basename "$f")" ] || missing=1; done
    [ "$missing" = 0 ] && return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "fetch-npm-assets: npm is required" >&2; exit 1; }
  local work; work="$(mktemp -d)"
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  local stage="$dest.tmp.$$"
  rm -rf "$stage"; mkdir -p "$stage"
  for f in "$@"; do
    test -s "$work/package/$f" || { echo "fetch-npm-assets: $f missing from $package" >&2; rm -rf "$work" "$stage"; exit 1; }
    cp "$work/package/$f" "$stage/"
  done
  cp "$work/package/package.json" "$stage/package.json"  # name, version, licence
  [ -f "$work/package/LICENSE" ] && cp "$work/package/LICENSE" "$stage/LICENSE"
  echo "$version" > "$stage/VERSION"
  rm -rf "$dest"; mkdir -p "$(dirname "$dest")"; mv "$stage" "$dest"
  rm -rf "$work"
  echo "fetch-npm-assets: $package $version -> ${dest#$ROOT/}" >&2
}

targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(swagger axe)
for target in "${targets[@]}"; do
  case "$target" in
    swagger) fetch swagger-ui-dist "$SWAGGER_VERSION" "$ROOT/api/static/swagger-ui" \
               swagger-ui-bundle.js swagger-ui.css ;;
    axe) fetch axe-core "$AXE_VERSION" "$ROOT/build/npm/axe-core" axe.min.js ;;
    *) echo "fetch-npm-assets: unknown target $target (swagger or axe)" >&2; exit 2 ;;
  esac
done
