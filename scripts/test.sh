#!/usr/bin/env bash
# Install what the tests need and run them (the README's test command).
# GDAL's command-line tools (Debian gdal-bin) are the tests' independent oracle; the library
# itself never needs GDAL.  Without root/apt the GDAL-oracle tests are skipped, except in CI
# (CI=true), where a missing gdalinfo fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
if ! command -v gdalinfo >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin) >/dev/null
  fi
fi
if ! command -v gdalinfo >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then echo "gdalinfo missing in CI: the GDAL oracle is required" >&2; exit 1; fi
  echo "note: gdalinfo not found; GDAL-oracle tests will be skipped" >&2
fi
ruff check modisoft tests benchmarks docs
python -m pytest "$@"
