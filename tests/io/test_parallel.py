"""A computation over several granules under process pools: pickling and locks work."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sample

import modisoft

FILES = [
    f"MCD15A2.A2012{d}.h17v03.005.{p}.hdf"
    for d, p in (
        ("001", "2012017211237"),
        ("009", "2012019044037"),
        ("017", "2012026072526"),
        ("025", "2012052124839"),
    )
]


def _expected_means():
    from pyhdf.SD import SD

    out = []
    for f in FILES:
        raw = SD(str(sample(f))).select("Lai_1km")[:].astype("float64")
        out.append(np.nanmean(np.where(raw <= 100, raw * 0.1, np.nan)))
    return np.array(out)


def _stack():
    import xarray as xr

    arrays = [
        modisoft.decode(modisoft.open_granule(sample(f), "Lai_1km", chunks=400)).Lai_1km
        for f in FILES
    ]
    return xr.concat(arrays, dim="time")


def test_dask_multiprocessing_scheduler():
    import dask

    with dask.config.set(scheduler="processes", num_workers=2):
        means = _stack().mean(dim=("y", "x")).compute().values
    np.testing.assert_allclose(means, _expected_means(), rtol=1e-6)


@pytest.mark.slow
def test_local_cluster_with_processes():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        means = client.compute(_stack().mean(dim=("y", "x"))).result().values
    np.testing.assert_allclose(means, _expected_means(), rtol=1e-6)
