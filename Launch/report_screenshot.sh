#!/usr/bin/env bash
# Renders a `spikescale report` HTML page with headless Chromium to a PNG and fails when the page
# logs console errors (CONSOLE / Uncaught / Failed to load), references external resources or loses
# figures while parsing.
# Usage: Launch/report_screenshot.sh REPORT.html OUT.png [WIDTH,HEIGHT]   (default 1400,3000)
# Installs Debian's chromium when it is missing (root or sudo).
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2; exit 2; fi
html=$1; png=$2; size=${3:-1400,3000}
[ -f "$html" ] || { echo "report_screenshot: $html: no such file" >&2; exit 2; }

chrome=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$(command -v "$c"); break; fi
done
if [ -z "$chrome" ]; then
  echo "report_screenshot: installing chromium" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq chromium >/dev/null || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }
  chrome=$(command -v chromium)
fi

abs_html=$(realpath "$html")
mkdir -p "$(dirname "$png")"
abs_png=$(realpath -m "$png")
url="file://$(printf '%s' "$abs_html" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions
       --user-data-dir="$work/profile" --enable-logging=stderr --v=0)

rm -f "$abs_png"
rc=0
timeout 180 "$chrome" "${flags[@]}" --screenshot="$abs_png" --window-size="$size" "$url" >"$work/shot.out" 2>"$work/shot.log" || rc=$?
if [ $rc -ne 0 ] || [ ! -s "$abs_png" ]; then
  echo "report_screenshot: chromium failed (exit $rc), log:" >&2; tail -20 "$work/shot.log" >&2; exit 1
fi
rc=0
timeout 180 "$chrome" "${flags[@]}" --dump-dom "$url" >"$work/dom.html" 2>"$work/dom.log" || rc=$?
if [ $rc -ne 0 ]; then echo "report_screenshot: chromium --dump-dom failed (exit $rc)" >&2; tail -20 "$work/dom.log" >&2; exit 1; fi

status=0
if grep -hE 'CONSOLE|Uncaught|Failed to load' "$work/shot.log" "$work/dom.log" >"$work/errors.txt"; then
  echo "report_screenshot: console errors on the page:" >&2; cat "$work/errors.txt" >&2; status=1
fi
# Chromium does not log failed file:// loads; a self-contained report references nothing outside itself.
if grep -oP '(?:src|href)\s*=\s*"(?!#|data:)[^"]*"|url\((?!#|data:)[^)]*\)' "$abs_html" >"$work/external.txt"; then
  echo "report_screenshot: the page references external resources:" >&2; sort -u "$work/external.txt" | head -20 >&2; status=1
fi
want=$(grep -o '<svg ' "$abs_html" | wc -l)
got=$(grep -o '<svg ' "$work/dom.html" | wc -l)
if [ "$want" -ne "$got" ]; then
  echo "report_screenshot: the page has $want inline SVGs but Chromium's DOM has $got" >&2; status=1
fi
if [ $status -eq 0 ]; then echo "report_screenshot: ok: $abs_png ($size, $got figures, no console errors)"; fi
exit $status
