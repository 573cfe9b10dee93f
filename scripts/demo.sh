#!/usr/bin/env bash
# Install modisoft and run the demo on sample_tiles/ (the README's demo command):
# describe the granules, then the national-style run of sample_tiles/demo.toml.
# `bash scripts/demo.sh viirs`: the VIIRS demo instead, on SYNTHETIC VNP15A2H granules that
# scripts/synth_viirs.py writes from the real MCD15A2 pixels of sample_tiles/ (labelled as such).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[distributed,plot]"
if [ "${1:-}" = "viirs" ]; then
    python scripts/synth_viirs.py
    modisoft run sample_tiles/demo_viirs.toml
    echo "outputs in demo_viirs_output/ (lai.zarr, lai.nc, cog/, beps/, quicklooks/, report.html)"
    exit 0
fi
modisoft info sample_tiles/ | tail -n 12
modisoft run sample_tiles/demo.toml
echo "outputs in demo_output/ (lai.zarr, lai.nc, cog/, beps/, quicklooks/, stac/collection.json)"
