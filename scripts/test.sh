#!/usr/bin/env bash
# Install what the tests need and run them (the README's test command).
# GDAL's command-line tools (Debian gdal-bin) are the tests' independent oracle; the library
# itself never needs GDAL.  Without root/apt the oracle tests are skipped, except in CI
# (CI=true), where a missing tool fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# CDO, NCO and netCDF's ncdump are the readers the NetCDF output is checked with; Chromium
# (headless) renders the run's report.html as a user's browser does.
tools="gdalinfo cdo ncks ncdump chromium"
missing() { for t in $tools; do command -v "$t" >/dev/null 2>&1 || return 0; done; return 1; }
if missing; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      gdal-bin cdo nco netcdf-bin chromium) >/dev/null
  fi
fi
for t in $tools; do
  if ! command -v "$t" >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then echo "$t missing in CI: the oracle is required" >&2; exit 1; fi
    echo "note: $t not found; the tests that use it will be skipped" >&2
  fi
done
ruff check modisoft tests benchmarks docs
# two test processes (the machine's two cores); tests that share a module fixture (or a
# doc's examples) are one group run by one process, the biggest groups and the slow tests
# first (tests/conftest.py) so that the two processes end together; pass -n 0 to run in one
# process
python -m pytest -n 2 --dist loadgroup "$@"
