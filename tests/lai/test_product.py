"""The product path on real MCD15A2 (C5), MCD15A2H and MCD15A3H (C6) granules reproduces the
scaled values with QA applied.  Expected values: raw integers read independently with pyhdf,
scaled by 0.1 (PRODUCTS.md §2), QA from the literal QA.md §2.3 formula."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sample
from pyhdf.SD import SD

from modisoft import open_granule
from modisoft.lai import product_lai, product_lai_stack

FILES = [
    ("MCD15A2.A2012193.h17v03.005.2012202144013.hdf", "Lai_1km"),
    ("MCD15A2H.A2016201.h18v05.006.2016215124658.hdf", "Lai_500m"),
    ("MCD15A3H.A2018273.h17v03.006.2018278143630.hdf", "Lai_500m"),
]


@pytest.mark.parametrize(("name", "layer"), FILES)
def test_product_matches_independent_read(name, layer):
    p = sample(name)
    f = SD(str(p))
    raw = f.select(layer)[:]
    qc = f.select("FparLai_QC")[:]
    g = np.argwhere((((qc >> 5) & 7) <= 1) & (((qc >> 3) & 3) == 0) & (qc != 255))
    y0, x0 = (max(int(v) - 200, 0) for v in np.median(g, axis=0))
    sl = (slice(y0, y0 + 400), slice(x0, x0 + 400))  # a block around good pixels: quick
    raw, qc = raw[sl], qc[sl]
    ds = open_granule(p, [layer, "FparLai_QC"]).isel(y=sl[0], x=sl[1])
    out = product_lai(ds).compute()
    valid = raw <= 100
    want = np.where(valid, raw.astype("float64") * 0.1, np.nan)
    np.testing.assert_allclose(out.lai.values, want, rtol=1e-6, equal_nan=True)
    assert out.lai.dtype == np.float32
    cls = out.lai_class.values
    assert (cls[valid] == 0).all() and (cls[~valid] == raw[~valid]).all()
    # QA.md §2.3: SCF_QC (bits 5-7) in {0, 1} and cloud state (bits 3-4) == 0, QA fill 255
    good = (qc != 255) & (((qc >> 5) & 7) <= 1) & (((qc >> 3) & 3) == 0) & valid
    np.testing.assert_array_equal(out.qa_good.values, good)
    main = (qc != 255) & (((qc >> 5) & 7) <= 1) & valid
    w = np.where(good, 1.0, np.where(main, 0.5, 0.0))  # MOD15 default scheme weights
    np.testing.assert_allclose(out.qa_weight.values, w)
    assert good.sum() > 1000  # the block holds plenty of good retrievals


def test_stack_of_real_c5_granules():
    paths = [
        sample(n)
        for n in (
            "MCD15A2.A2012009.h17v03.005.2012019044037.hdf",
            "MCD15A2.A2012001.h17v03.005.2012017211237.hdf",
        )
    ]
    st = product_lai_stack(paths)
    assert st.sizes["time"] == 2 and str(st.time.values[0])[:10] == "2012-01-01"
    raw = SD(str(paths[1])).select("Lai_1km")[:100, :100]
    got = st.lai.isel(time=0, y=slice(0, 100), x=slice(0, 100)).values
    np.testing.assert_allclose(
        got, np.where(raw <= 100, raw * 0.1, np.nan), rtol=1e-6, equal_nan=True
    )
