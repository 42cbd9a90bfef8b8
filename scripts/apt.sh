#!/usr/bin/env bash
# Debian packages used by accesoins: Chromium (web end-to-end tests), Pango and fonts (PDF with
# WeasyPrint), Poppler (PDF text checks), PostgreSQL (shared registers). Installs only what is missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ -e /usr/lib/x86_64-linux-gnu/libpangoft2-1.0.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libpangoft2-1.0.so.0 ] \
  || need+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
