"""StructMetadata → Grid on real files (tiles, subsets, MOD11's 86400, HDFE_CENTER) and on
synthetic geographic, split and malformed metadata."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import core_metadata, sample, sample_hdf4_files, write_hdfeos2

from modisoft import inspect_granule, open_granule
from modisoft.errors import MetadataError
from modisoft.grids import modis_tile_grid
from modisoft.io.hdfeos import StructMetadataError, packed_dms_to_degrees, parse_struct_metadata

T = 2 * math.pi * 6371007.181 / 36


@pytest.mark.parametrize("path", sample_hdf4_files(), ids=lambda p: p.name)
def test_full_tiles_sit_on_the_tile_lattice(path):
    """Every full tile's corners are the tile edges (exact or truncated width, GRIDS.md §1.4)."""
    info = inspect_granule(path)
    for gi in info.grids:
        g = gi.grid
        assert g.crs.ellipsoid.semi_major_metre == 6371007.181
        assert g.crs.ellipsoid.inverse_flattening == 0
        if info.granule.tile is None or "MOD09A1" in path.name:
            continue
        h, v = info.granule.tile
        exact = modis_tile_grid(h, v, "1km")
        for got, want in zip(g.bounds, exact.bounds, strict=True):
            assert abs(got - want) < 1.0  # in-file widths are truncated by ~1e-4 m per tile


def test_hdfe_center_is_not_shifted():
    """MCD15 declares PixelRegistration=HDFE_CENTER; its UL is still the tile's outer corner."""
    info = inspect_granule(sample("MCD15A2.A2012001.h17v03.005.2012017211237.hdf"))
    (gi,) = info.grids
    assert gi.pixel_registration == "HDFE_CENTER" and gi.grid_origin is None
    assert gi.grid.transform.c == -1111950.519667
    assert gi.grid.transform.f == 6671703.118
    assert gi.grid.transform.a == pytest.approx((0.0 + 1111950.519667) / 1200, rel=1e-15)


def test_mod11_projparams_86400_tolerated():
    info = inspect_granule(sample("MOD11A1.hdf"))
    (gi,) = info.grids
    assert gi.proj_params[8] == 86400
    assert gi.grid.crs.ellipsoid.semi_major_metre == 6371007.181
    assert gi.grid_origin == "HDFE_GD_UL"


def test_subset_corners_are_honoured_not_snapped():
    info = inspect_granule(sample("MOD09A1.A2017193.h18v04.006.2017202035302.hdf"))
    (gi,) = info.grids
    assert gi.name == "MOD_Grid_500m_Surface_Reflectance_463"
    assert gi.grid.shape == (73, 66)
    assert gi.grid.transform.c == 753346.477074 and gi.grid.transform.f == 5132114.960978
    # on the 500 m lattice of h18v04: col 1626, row 923 (GRIDS.md §4.3)
    s = T / 2400
    assert (gi.grid.transform.c - 0.0) / s == pytest.approx(1626, abs=1e-3)
    assert (5 * T - gi.grid.transform.f) / s == pytest.approx(923, abs=1e-3)
    assert info.granule.tile == (18, 4)  # from the metadata, not the corners


def test_two_grids_in_one_file():
    info = inspect_granule(sample("MOD09GA.A2008296.h14v17.006.2015181011753.hdf"))
    assert [g.name for g in info.grids] == ["MODIS_Grid_1km_2D", "MODIS_Grid_500m_2D"]
    one, half = (g.grid for g in info.grids)
    assert one.shape == (1200, 1200) and half.shape == (2400, 2400)
    assert one.bounds == pytest.approx(half.bounds)
    assert "sur_refl_b01_1" in info.grid_layers["MODIS_Grid_500m_2D"]
    assert "state_1km_1" in info.grid_layers["MODIS_Grid_1km_2D"]
    assert "sur_refl_b01_c" in info.non_grid_layers  # 1-D compact layers are not grids


def test_packed_dms():
    assert packed_dms_to_degrees(-180000000.0) == -180.0
    assert packed_dms_to_degrees(90000000.0) == 90.0
    assert packed_dms_to_degrees(45030000.0) == 45.5
    assert packed_dms_to_degrees(-10030036.0) == pytest.approx(-(10 + 30 / 60 + 36 / 3600))


def test_geographic_cmg_grid(tmp_path):
    """Synthetic 0.05° climate-modelling grid (GCTP_GEO, corners in packed DMS)."""
    data = np.arange(36 * 72, dtype="int16").reshape(36, 72)
    path = write_hdfeos2(
        tmp_path / "MOD13C1.A2020001.061.2020020202020.hdf",
        [
            dict(
                name="MODIS_Grid_16Day_VI_CMG",
                nx=72,
                ny=36,
                ul=(-180000000.0, 90000000.0),
                lr=(180000000.0, -90000000.0),
                proj="GCTP_GEO",
                params=[0] * 13,
                sphere=-1,
                extra=["GridOrigin=HDFE_GD_UL"],
                fields=["CMG 0.05 Deg 16 days NDVI"],
            )
        ],
        {"CMG 0.05 Deg 16 days NDVI": {"data": data, "attrs": {"_FillValue": -3000}}},
    )
    with pytest.warns(Warning, match="not in the modisoft registry"):
        ds = open_granule(path)
    (gi,) = inspect_granule(path).grids
    assert gi.grid.crs.is_geographic
    assert gi.grid.geotransform == (-180.0, 5.0, 0.0, 90.0, 0.0, -5.0)
    # GCTP's default spheroid (code 0) is Clarke 1866, the datum reported for CMG products
    assert gi.grid.crs.ellipsoid.semi_major_metre == 6378206.4
    np.testing.assert_array_equal(ds["CMG 0.05 Deg 16 days NDVI"].values, data)
    assert ds.x.values[0] == -177.5 and ds.y.values[0] == 87.5


def test_split_struct_metadata(tmp_path):
    """StructMetadata.0/.1/... are joined before parsing (HDF-EOS splits at 32000 chars)."""
    data = np.zeros((4, 4), "uint8")
    path = write_hdfeos2(
        tmp_path / "x.hdf",
        [dict(name="G", nx=4, ny=4, ul=(0.0, 4000.0), lr=(4000.0, 0.0), fields=["a"])],
        {"a": {"data": data, "attrs": {"_FillValue": 255}}},
        {
            "CoreMetadata.0": core_metadata(
                "X.A2020001.h18v08.061.2020002030405.hdf", "X", 61, "2020-01-01", "2020-01-01"
            )
        },
        split_struct=120,
    )
    from pyhdf.SD import SD

    assert "StructMetadata.3" in SD(str(path)).attributes()
    (gi,) = inspect_granule(path).grids
    assert gi.grid.geotransform == (0.0, 1000.0, 0.0, 4000.0, 0.0, -1000.0)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s.replace("END_GROUP=GRID_1", "END_GROUP=GRID_X"), "does not match"),
        (lambda s: s.replace("XDim=4", ""), "lacks XDim"),
        (lambda s: s.replace("GCTP_SNSOID", "GCTP_UTM"), "GCTP_UTM is not supported"),
        (
            lambda s: s.replace(
                "UpperLeftPointMtrs=(0.000000,4000.000000)", "UpperLeftPointMtrs=(abc,4000"
            ),
            "StructMetadata",
        ),
    ],
)
def test_corrupted_struct_metadata_is_a_clear_error(tmp_path, mutate, message):
    from conftest import struct_metadata

    grids = [
        dict(name="G", nx=4, ny=4, ul=(0.0, 4000.0), lr=(4000.0, 0.0), fields=[("a", "DFNT_UINT8")])
    ]
    text = mutate(struct_metadata(grids))
    with pytest.raises(StructMetadataError, match=message):
        parse_struct_metadata(text)
    # and through the reader: a MetadataError (an OSError) naming the file
    from pyhdf.SD import SD, SDC

    path = tmp_path / "bad.hdf"
    sd = SD(str(path), SDC.WRITE | SDC.CREATE)
    sd.attr("StructMetadata.0").set(SDC.CHAR8, text)
    s = sd.create("a", SDC.UINT8, (4, 4))
    s[:] = np.zeros((4, 4), "uint8")
    s.endaccess()
    sd.end()
    with pytest.raises(MetadataError, match=r"bad\.hdf") as exc:
        open_granule(path)
    assert isinstance(exc.value, OSError) and "StructMetadata" in str(exc.value)
