#!/usr/bin/env bash
# Debian packages Baoxue needs beyond Python: a CJK font and HarfBuzz's subsetter for
# WeasyPrint, Chromium for the browser tests, poppler-utils (pdftotext, pdffonts) for the tests
# that read generated PDFs. Installs them as root; otherwise says how.
set -uo pipefail
wanted=(fonts-noto-cjk libharfbuzz-subset0 chromium poppler-utils zbar-tools)
command -v dpkg-query >/dev/null 2>&1 || { echo "not Debian: install a CJK font, HarfBuzz (hb-subset), Chromium and poppler-utils yourself"; exit 0; }
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null && exit 0
  echo "apt-get could not install ${missing[*]}" >&2
else
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Run: sudo apt-get install ${missing[*]}" >&2
fi
# Without them the app runs; Chinese PDFs lack glyphs, the browser tests and the PDF text checks
# cannot run.
[ "${CI:-}" = "true" ] && exit 1
exit 0
