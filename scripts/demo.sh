#!/usr/bin/env bash
# Install modisoft and run the demo on sample_tiles/ (the README's demo command).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e .
modisoft info sample_tiles/
