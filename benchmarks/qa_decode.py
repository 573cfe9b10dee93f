"""Decode a 2400 x 2400 uint32 QA word into all its fields; print the time and a ratio against
a per-value binary-string decoder of the kind peer tools use.

The words are the real MOD09GA ``QC_500m_1`` layer (2400 x 2400 uint32: MODLAND, seven 4-bit
band qualities, two correction flags; fill 787410671).  modisoft decodes with vectorised shifts
and masks (:func:`modisoft.qa.decode_words`, and the lazy :func:`modisoft.qa.decode_qa`).  The
peer side formats each word as a 32-character binary string and slices each field out of it,
``int(bits[32 - 1 - last : 32 - first], 2)``, the per-value approach of pyModis'
``qualityModis`` and of string-based R QA helpers (written here, not imported).  It is too slow
for the whole tile, so both run side by side on the same random subsample and the peer's
full-tile time is extrapolated.

Usage: ``python benchmarks/qa_decode.py [--subsample N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import xarray as xr

from modisoft.products import get_product
from modisoft.qa import decode_qa, decode_words

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"
FILE = SAMPLE / "MOD09GA.A2008296.h14v17.006.2015181011753.hdf"


def load_words() -> tuple[np.ndarray, str]:
    if FILE.exists():
        from pyhdf.SD import SD

        sd = SD(str(FILE))
        words = sd.select("QC_500m_1")[:]
        sd.end()
        return words, f"real {FILE.name} QC_500m_1"
    rng = np.random.default_rng(0)
    return rng.integers(0, 2**32, (2400, 2400), dtype=np.uint32), "random words (sample absent)"


def naive(words: np.ndarray, spec: list[tuple[str, int, int]], fill: int) -> dict[str, list]:
    out: dict[str, list] = {name: [] for name, _, _ in spec}
    for w in words.tolist():
        bits = format(w, "032b")
        for name, first, length in spec:
            last = first + length - 1
            out[name].append(None if w == fill else int(bits[31 - last : 32 - first], 2))
    return out


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subsample", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    layer = get_product("MOD09GA", "006").layer("QC_500m_1")
    spec = [(b.name, b.start, b.length) for b in layer.bit_fields]
    fill = layer.fill_values[0]
    words, what = load_words()
    print(f"words: {what}, {words.shape} {words.dtype}, {len(spec)} fields")

    t_vec = best(lambda: decode_words(words, spec, layer.fill_values), args.repeat)
    raw = xr.DataArray(words, dims=("y", "x"), attrs={"layer": "QC_500m_1"})
    t_xr = best(lambda: decode_qa(raw, product="MOD09GA").compute(), args.repeat)
    print(f"modisoft decode_words, full tile:          {t_vec * 1e3:8.1f} ms")
    print(f"modisoft decode_qa (xarray), full tile:    {t_xr * 1e3:8.1f} ms")

    rng = np.random.default_rng(1)
    sub = words.ravel()[rng.choice(words.size, args.subsample, replace=False)]
    t_naive = best(lambda: naive(sub, spec, fill), 1)
    t_vec_sub = best(lambda: decode_words(sub, spec, layer.fill_values), args.repeat)
    ref, got = naive(sub, spec, fill), decode_words(sub, spec, layer.fill_values)
    for name, _, _ in spec:
        want = np.array([255 if v is None else v for v in ref[name]])
        assert np.array_equal(got[name], want), name  # both decoders agree
    per_px = t_naive / sub.size
    print(f"subsample of {sub.size} words (both decoders agree on every field):")
    print(
        f"  string slicing: {t_naive * 1e3:8.1f} ms   vectorised: {t_vec_sub * 1e3:8.3f} ms"
        f"   ratio {t_naive / t_vec_sub:,.0f}x"
    )
    full_naive = per_px * words.size
    print(
        f"string slicing extrapolated to the full tile: {full_naive:8.1f} s "
        f"-> modisoft is {full_naive / t_vec:,.0f}x faster ({full_naive / t_xr:,.0f}x via xarray)"
    )


if __name__ == "__main__":
    main()
