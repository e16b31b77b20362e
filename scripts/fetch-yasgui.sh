#!/usr/bin/env bash
# Copy the YASGUI query editor (npm package @zazuko/yasgui, MIT) into api/static/yasgui/ so the
# server hosts it itself: no CDN at run time. Run by `make` on a fresh clone; needs npm and the
# npm registry at build time only. Idempotent: does nothing when the pinned version is present.
set -euo pipefail
VERSION="${YASGUI_VERSION:-4.6.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/api/static/yasgui"
if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ] \
   && [ -s "$DEST/yasgui.min.js" ] && [ -s "$DEST/yasgui.min.css" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-yasgui: npm is required" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "@zazuko/yasgui@$VERSION" >/dev/null)
tar -xzf "$WORK"/zazuko-yasgui-"$VERSION".tgz -C "$WORK"
for f in yasgui.min.js yasgui.min.css; do
  test -s "$WORK/package/build/$f" || { echo "fetch-yasgui: $f missing from the package" >&2; exit 1; }
done
# Stage then swap, so an interrupted run never leaves a half-copied editor.
STAGE="$DEST.tmp.$$"
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp "$WORK/package/build/yasgui.min.js" "$WORK/package/build/yasgui.min.css" "$STAGE/"
cp "$WORK/package/package.json" "$STAGE/package.json"  # name, version, MIT licence
echo "$VERSION" > "$STAGE/VERSION"
rm -rf "$DEST"
mv "$STAGE" "$DEST"
echo "fetch-yasgui: @zazuko/yasgui $VERSION -> ${DEST#$ROOT/}" >&2
