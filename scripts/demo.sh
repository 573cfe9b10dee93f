#!/usr/bin/env bash
# Install modisoft and run the demo on sample_tiles/ (the README's demo command):
# describe the granules, then the national-style run of sample_tiles/demo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[distributed,plot]"
modisoft info sample_tiles/ | tail -n 12
modisoft run sample_tiles/demo.toml
echo "outputs in demo_output/ (lai.zarr, lai.nc, cog/, beps/, quicklooks/, stac/collection.json)"
