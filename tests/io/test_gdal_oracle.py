"""GDAL as an independent oracle for modisoft's HDF-EOS2 reader, grids and decoding.

modisoft reads MODIS HDF-EOS2 (HDF4) granules with pyhdf and its own ``StructMetadata``
parser; it never calls GDAL.  GDAL's command-line tools (``gdalinfo``, ``gdal_translate``,
with the HDF4 driver) are a second, independent implementation of the same reading, so here
they serve as the oracle:

* **Geometry.**  For every ``*.hdf`` sample and every grid in it, GDAL's size and
  ``geoTransform`` of one subdataset of that grid must equal modisoft's ``Grid.shape`` and
  ``Grid.geotransform`` (1e-6 m); GDAL's grid and field listing must equal ours; modisoft's CRS
  must be the MODIS sinusoidal sphere R = 6371007.181 m.  GDAL's own CRS is only recorded
  (GDAL 3.6 reports a "Custom spheroid" 6371007.181 with inverse flattening 0), not asserted.
* **Raw values.**  For every registry layer of one representative file per product/structure,
  ``gdal_translate -of ENVI`` (no ``-unscale``: stored integers) gives the raw array, which
  must equal ``open_granule``'s raw values exactly.
* **Decoding.**  The expected physical values are computed *in this module* from GDAL's raw
  array and the documented formula, written out below (not via modisoft's ``Scaling.apply``
  or ``decode_values``): ``hdfeos``: (stored - offset) * scale; ``cf``: stored * scale +
  offset; ``divide``: stored / scale; in float64, rounded once to float32, NaN where the stored
  value is a fill value, a fill-class code or outside ``valid_range``.  ``decode`` must match
  bit for bit; QA and categorical layers must stay raw integers; the ``<layer>_class``
  companion must hold exactly GDAL's count of each fill-class code.
* **Named regressions.**  MOD13A2 NDVI stores ``scale_factor = 10000`` meaning divide
  (multiplying is rspatial/terra#1354); MOD09GA (divide 10000) and MOD09A1 (multiply 0.0001)
  reflectance; MOD11A1 view angle in the CF form with offset -65.

Notes
-----
GDAL 3.6 has no signed 8-bit type: its HDF4 driver exposes ``DFNT_INT8`` layers as ``Byte``
(e.g. ``_FillValue -1`` is reported as nodata 255).  Those arrays are compared bit for bit
after reinterpreting GDAL's bytes as ``int8``; that is the only conversion applied to GDAL's
output.  The registry facts (scale, offset, fills, valid range) are themselves compared with
what GDAL reads from the file attributes, except where the registry documents a deliberate
deviation (``Layer.deviations``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import dask
import numpy as np
import pytest

from modisoft import Grid, decode, get_product, inspect_granule, open_granule

GDALINFO = shutil.which("gdalinfo")
GDAL_TRANSLATE = shutil.which("gdal_translate")
MODIS_SPHERE_RADIUS_M = 6371007.181
GEOTRANSFORM_ATOL_M = 1e-6

pytestmark = [
    pytest.mark.gdal,
    pytest.mark.skipif(
        GDALINFO is None or GDAL_TRANSLATE is None,
        reason="GDAL command-line tools (gdalinfo, gdal_translate) not installed; they are the "
        "independent oracle of these tests (Debian: apt-get install gdal-bin)",
    ),
]


# --------------------------------------------------------------------------------------------
# sample files
# --------------------------------------------------------------------------------------------
def sample_dir() -> Path:
    """The shared sample granules: ``../shared/sample-data`` relative to the repository root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "sample-data"


def sample_path(name: str) -> Path:
    """Path of a sample file; skips the test when it is absent."""
    p = sample_dir() / name
    if not p.is_file():
        pytest.skip(f"sample file {p} not present (../shared/sample-data missing?)")
    return p


def _hdf4_sample_names() -> list[str]:
    d = sample_dir()
    return sorted(p.name for p in d.glob("*.hdf")) if d.is_dir() else []


HDF4_SAMPLES = _hdf4_sample_names()

REPRESENTATIVE = {
    # file name -> (product, collection) the granule must be identified as
    "MCD15A2.A2012001.h17v03.005.2012017211237.hdf": ("MCD15A2", "005"),
    "MCD15A2H.A2016201.h18v05.006.2016215124658.hdf": ("MCD15A2H", "006"),
    "MCD15A3H.A2018273.h17v03.006.2018278143630.hdf": ("MCD15A3H", "006"),
    "MCD43A3.A2017199.h15v07.006.2017208032853.hdf": ("MCD43A3", "006"),
    "MOD09A1.A2017193.h18v04.006.2017202035302.hdf": ("MOD09A1", "006"),
    "MOD09GA.A2008296.h14v17.006.2015181011753.hdf": ("MOD09GA", "006"),
    "MOD11A1.hdf": ("MOD11A1", "006"),
    "MOD11B2.A2017001.h14v04.006.2017013155631.hdf": ("MOD11B2", "006"),
    "MOD13A2.A2025001.h18v09.061.2025022080611.hdf": ("MOD13A2", "061"),
    "MYD13A2.A2025009.h18v09.061.2025030154035.hdf": ("MYD13A2", "061"),
    "MCD12Q1.A2020001.h24v07.061.2022172012059.hdf": ("MCD12Q1", "061"),
    "MCD12Q1.A2020001.h26v07.061.2022172010804.hdf": ("MCD12Q1", "061"),
}
"""One file per product/structure; every registry layer of its product is checked."""


def _short(name: str) -> str:
    """A compact test id for a file: product.date.tile (or the bare name)."""
    parts = name.split(".")
    return ".".join(parts[:3]) if len(parts) > 3 else name.removesuffix(".hdf")


def _layer_params(only_fill_classes: bool = False) -> list:
    params = []
    for name, (product, collection) in REPRESENTATIVE.items():
        for layer in get_product(product, collection).layers:
            if only_fill_classes and not (layer.kind == "value" and len(layer.fill_classes) > 1):
                continue
            params.append(
                pytest.param(name, layer.name, id=f"{_short(name)}:{layer.name.replace(' ', '_')}")
            )
    return params


@pytest.fixture(autouse=True)
def _synchronous_dask():
    """Deterministic single-threaded dask for every test here."""
    with dask.config.set(scheduler="synchronous"):
        yield


# --------------------------------------------------------------------------------------------
# GDAL helpers (the oracle)
# --------------------------------------------------------------------------------------------
_SUBDATASET = re.compile(r'^HDF4_EOS:EOS_GRID:"(?P<path>[^"]*)":(?P<grid>[^:]+):(?P<field>.+)$')


def _run(args: list[str]) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@lru_cache(maxsize=512)
def gdalinfo_json(target: str) -> dict:
    """``gdalinfo -json`` of a file or subdataset (cached: the output is deterministic)."""
    return json.loads(_run([GDALINFO, "-json", target]))


@lru_cache(maxsize=128)
def gdal_subdatasets(path: str) -> tuple[tuple[str, str, str], ...]:
    """GDAL's ``(grid, field, subdataset name)`` list of an HDF-EOS2 container file."""
    md = gdalinfo_json(path).get("metadata", {}).get("SUBDATASETS", {})
    out = []
    for key, value in md.items():
        if not key.endswith("_NAME"):
            continue
        m = _SUBDATASET.match(value)
        assert m is not None, f"unexpected GDAL subdataset name {value!r}"
        out.append((m["grid"], m["field"].strip('"'), value))
    return tuple(out)


def gdal_subdataset(path: Path, field: str) -> str:
    """The GDAL subdataset of one field; skips when the file does not hold that layer."""
    subs = gdal_subdatasets(str(path))
    found = [s for _, f, s in subs if f == field]
    if not found:
        pytest.skip(
            f"registry layer {field!r} is not in {path.name} "
            f"(GDAL lists: {sorted(f for _, f, _ in subs)})"
        )
    assert len(found) == 1, f"field {field!r} appears in several grids: {found}"
    return found[0]


_ENVI_DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}
_ENVI_KEYS = re.compile(
    r"^\s*(samples|lines|bands|header offset|data type|byte order)\s*=\s*"
    r"(\d+)\s*$",
    re.MULTILINE,
)


def gdal_raw(subdataset: str, tmp_path: Path, dtype: str) -> np.ndarray:
    """GDAL's stored values of a subdataset: ``gdal_translate -of ENVI``, read with numpy.

    No ``-unscale``: GDAL copies the stored integers.  The only conversion is the
    reinterpretation of GDAL 3.6's ``Byte`` as ``int8`` for ``DFNT_INT8`` layers (same bits).
    """
    out = tmp_path / (re.sub(r"\W+", "_", subdataset.rsplit(":", 1)[-1]).strip("_") + ".bin")
    _run([GDAL_TRANSLATE, "-q", "-of", "ENVI", subdataset, str(out)])
    hdr = dict(_ENVI_KEYS.findall(out.with_suffix(".hdr").read_text()))
    assert int(hdr["bands"]) == 1, f"{subdataset}: {hdr['bands']} bands"
    code = int(hdr["data type"])
    assert code in _ENVI_DTYPES, f"unexpected ENVI data type {code}"
    gdtype = np.dtype(_ENVI_DTYPES[code]).newbyteorder(">" if hdr["byte order"] == "1" else "<")
    assert gdtype.kind in "ui", f"GDAL wrote {gdtype} for {subdataset}: it scaled the values"
    arr = np.fromfile(out, dtype=gdtype, offset=int(hdr.get("header offset", 0)))
    arr = arr.reshape(int(hdr["lines"]), int(hdr["samples"])).astype(gdtype.newbyteorder("="))
    want = np.dtype(dtype)
    if arr.dtype == np.uint8 and want == np.int8:
        return arr.view(np.int8)
    assert arr.dtype == want, f"GDAL reads {subdataset} as {arr.dtype}, modisoft as {want}"
    return arr


# --------------------------------------------------------------------------------------------
# the documented unpacking, written out independently of modisoft
# --------------------------------------------------------------------------------------------
def nodata_codes(layer) -> list[int]:
    """Fill values and fill-class codes of a layer (every stored non-measurement)."""
    return sorted(set(layer.fill_values) | {c.code for c in layer.fill_classes})


def valid_stored(raw: np.ndarray, layer) -> np.ndarray:
    """True where the stored value is a measurement: no fill/fill class, inside valid_range."""
    codes = nodata_codes(layer)
    ok = ~np.isin(raw, codes) if codes else np.ones(raw.shape, bool)
    if layer.valid_range is not None:
        lo, hi = layer.valid_range
        ok &= (raw >= lo) & (raw <= hi)
    return ok


def expected_physical(raw: np.ndarray, layer) -> np.ndarray:
    """Physical values from stored ones by the registry convention (PRODUCTS.md §1)."""
    x = raw.astype(np.float64)
    s = layer.scaling
    if s is None:
        phys = x
    elif s.convention == "hdfeos":
        phys = (x - s.offset) * s.scale
    elif s.convention == "cf":
        phys = x * s.scale + s.offset
    elif s.convention == "divide":
        assert s.offset == 0, f"{layer.name}: a divide layer with offset {s.offset} is undocumented"
        phys = x / s.scale
    else:  # pragma: no cover - Scaling rejects other conventions
        pytest.fail(f"{layer.name}: unknown convention {s.convention!r}")
    return np.where(valid_stored(raw, layer), phys, np.nan).astype(np.float32)


def _identified(name: str):
    """The sample's path and registry product, checking modisoft identifies it as expected."""
    product, collection = REPRESENTATIVE[name]
    path = sample_path(name)
    info = inspect_granule(path)
    assert info.product is not None, f"{name}: not identified as a registry product"
    assert info.product.key == (product, collection), f"{name}: identified as {info.product.key}"
    return path, get_product(product, collection)


def _registry_layer(name: str, layer_name: str):
    path, product = _identified(name)
    return path, product.layer(layer_name)


# --------------------------------------------------------------------------------------------
# 1. geometry of every grid of every HDF4 sample
# --------------------------------------------------------------------------------------------
def test_sample_set_present():
    """The geometry test below is parametrized over this list; it must not be empty."""
    if not sample_dir().is_dir():
        pytest.skip(f"{sample_dir()} not present")
    assert len(HDF4_SAMPLES) >= 80, HDF4_SAMPLES


@pytest.mark.parametrize("name", HDF4_SAMPLES)
def test_grid_geometry_matches_gdal(name, record_property):
    path = sample_path(name)
    info = inspect_granule(path)
    by_grid: dict[str, list[tuple[str, str]]] = {}
    for grid, field, sds in gdal_subdatasets(str(path)):
        by_grid.setdefault(grid, []).append((field, sds))
    ours = {g.name: g for g in info.grids}
    assert set(ours) == set(by_grid), f"grids: modisoft {sorted(ours)}, GDAL {sorted(by_grid)}"
    for gname, ginfo in ours.items():
        assert sorted(f for f, _ in by_grid[gname]) == sorted(info.grid_layers[gname]), gname
        meta = gdalinfo_json(by_grid[gname][0][1])
        grid = ginfo.grid
        assert isinstance(grid, Grid)
        nx, ny = meta["size"]
        assert grid.shape == (ny, nx), f"{gname}: shape {grid.shape}, GDAL {(ny, nx)}"
        np.testing.assert_allclose(
            grid.geotransform, meta["geoTransform"], rtol=0, atol=GEOTRANSFORM_ATOL_M, err_msg=gname
        )
        crs = grid.crs
        assert crs.is_projected
        assert crs.coordinate_operation.method_name == "Sinusoidal"
        assert all(p.value == 0 for p in crs.coordinate_operation.params), (
            crs.coordinate_operation.params
        )
        assert crs.ellipsoid.semi_major_metre == MODIS_SPHERE_RADIUS_M
        assert crs.ellipsoid.semi_minor_metre == MODIS_SPHERE_RADIUS_M
        assert crs.ellipsoid.inverse_flattening == 0
        # GDAL's own CRS is recorded, not asserted (GDAL 3.6: "Custom spheroid" 6371007.181, 0).
        wkt = meta.get("coordinateSystem", {}).get("wkt", "")
        m = re.search(r'ELLIPSOID\["([^"]*)",([-0-9.eE+]+),([-0-9.eE+]+)', wkt)
        record_property(f"gdal_ellipsoid[{gname}]", m.group(0) if m else "(none)")


def test_mod09ga_both_grids_are_checked():
    """MOD09GA holds a 1 km and a 500 m grid; the geometry test covers both."""
    info = inspect_granule(sample_path("MOD09GA.A2008296.h14v17.006.2015181011753.hdf"))
    shapes = {g.name: g.grid.shape for g in info.grids}
    assert shapes == {"MODIS_Grid_1km_2D": (1200, 1200), "MODIS_Grid_500m_2D": (2400, 2400)}
    gt = {g.name: g.grid.geotransform for g in info.grids}
    assert gt["MODIS_Grid_1km_2D"][0] == gt["MODIS_Grid_500m_2D"][0]
    assert gt["MODIS_Grid_1km_2D"][1] == pytest.approx(2 * gt["MODIS_Grid_500m_2D"][1], rel=1e-12)


# --------------------------------------------------------------------------------------------
# 2. raw values, decoding, fill classes: every registry layer of the representative files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(REPRESENTATIVE))
def test_registry_covers_every_gdal_layer(name):
    """Every grid field GDAL lists is a registry layer, so the layer tests miss none."""
    path, product = _identified(name)
    registry = {lyr.name for lyr in product.layers}
    fields = {f for _, f, _ in gdal_subdatasets(str(path))}
    assert fields <= registry, f"not in the registry: {sorted(fields - registry)}"


@pytest.mark.parametrize(("name", "layer_name"), _layer_params())
def test_registry_facts_match_gdal_metadata(name, layer_name):
    """dtype, scale, offset, _FillValue and valid_range as GDAL reads them from the file."""
    path, layer = _registry_layer(name, layer_name)
    meta = gdalinfo_json(gdal_subdataset(path, layer_name))
    band = meta["bands"][0]
    gdal_types = {
        "Byte": ("uint8", "int8"),
        "Int8": ("int8",),
        "UInt16": ("uint16",),
        "Int16": ("int16",),
        "UInt32": ("uint32",),
        "Int32": ("int32",),
    }
    assert layer.dtype in gdal_types.get(band["type"], ()), (band["type"], layer.dtype)
    scale, offset = band.get("scale"), band.get("offset")
    if layer.scaling is None:
        assert scale in (None, 1.0) and offset in (None, 0.0), (scale, offset)
    else:
        assert scale == pytest.approx(layer.scaling.scale, rel=1e-7, abs=0)
        assert (offset or 0.0) == pytest.approx(layer.scaling.offset, rel=1e-7, abs=1e-12)
    nodata = band.get("noDataValue")
    if "_FillValue" not in layer.deviations:
        if nodata is None:
            assert layer.fill_values == (), "registry has a fill the file does not declare"
        else:
            # GDAL 3.6 shows an int8 fill -1 as Byte nodata 255: compare the bits.
            gdal_fill = (
                int(np.array(nodata).astype(np.uint8).view(np.int8))
                if layer.dtype == "int8" and band["type"] == "Byte"
                else int(nodata)
            )
            assert gdal_fill in layer.fill_values, (nodata, layer.fill_values)
    vr = meta.get("metadata", {}).get("", {}).get("valid_range")
    if vr is not None and "valid_range" not in layer.deviations:
        lo, hi = (float(v) for v in vr.split(","))
        assert layer.valid_range is not None
        assert (float(layer.valid_range[0]), float(layer.valid_range[1])) == (lo, hi)


@pytest.mark.parametrize(("name", "layer_name"), _layer_params())
def test_raw_and_decoded_values_match_gdal(name, layer_name, tmp_path):
    path, layer = _registry_layer(name, layer_name)
    gdal = gdal_raw(gdal_subdataset(path, layer_name), tmp_path, layer.dtype)

    # (a) raw values: exactly GDAL's stored integers
    ds = open_granule(path, [layer_name])
    raw = ds[layer_name].values
    assert raw.dtype == np.dtype(layer.dtype)
    np.testing.assert_array_equal(raw, gdal, strict=True)

    decoded = decode(ds)
    out = decoded[layer_name].values
    several_classes = layer.kind == "value" and len(layer.fill_classes) > 1
    assert (f"{layer_name}_class" in decoded) == several_classes
    if layer.kind in ("qa", "class"):
        # QA words and categorical codes are not decoded: same integers, same dtype
        assert out.dtype == gdal.dtype
        np.testing.assert_array_equal(out, gdal, strict=True)
        return

    # (b) physical values: GDAL's raw through the written-out formula
    expected = expected_physical(gdal, layer)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected, strict=True)

    # (d) plausibility: decoded values inside the registry's physical range
    if layer.physical_range is not None and np.isfinite(out).any():
        lo, hi = layer.physical_range
        assert np.nanmin(out) >= lo and np.nanmax(out) <= hi, (
            float(np.nanmin(out)),
            float(np.nanmax(out)),
            layer.physical_range,
        )


@pytest.mark.parametrize(("name", "layer_name"), _layer_params(only_fill_classes=True))
def test_fill_class_counts_match_gdal(name, layer_name, tmp_path):
    """(c) ``<layer>_class``: each fill-class code as often as in GDAL's raw array."""
    path, layer = _registry_layer(name, layer_name)
    gdal = gdal_raw(gdal_subdataset(path, layer_name), tmp_path, layer.dtype)
    cls = decode(open_granule(path, [layer_name]))[f"{layer_name}_class"].values
    assert cls.dtype == gdal.dtype
    counts = {c.code: np.count_nonzero(gdal == c.code) for c in layer.fill_classes}
    assert sum(counts.values()) > 0, "no fill-class pixel at all: the test would be vacuous"
    for code, n in counts.items():
        assert np.count_nonzero(cls == code) == n, f"code {code}"
    valid = valid_stored(gdal, layer)
    assert np.count_nonzero(cls == 0) == np.count_nonzero(valid)
    # every non-valid pixel keeps its stored code (also codes outside the legend, e.g. 101-247)
    np.testing.assert_array_equal(cls[~valid], gdal[~valid])


# --------------------------------------------------------------------------------------------
# 3. named regressions
# --------------------------------------------------------------------------------------------
VI_SAMPLES = [n for n in HDF4_SAMPLES if n.startswith(("MOD13A2.", "MYD13A2."))]


@pytest.mark.parametrize("name", VI_SAMPLES)
def test_mod13_ndvi_divides_by_stored_scale_factor_terra_1354(name, tmp_path):
    """MOD13 stores ``scale_factor = 10000`` meaning divide; multiplying is terra#1354."""
    path = sample_path(name)
    ndvi = "1 km 16 days NDVI"
    sds = gdal_subdataset(path, ndvi)
    band = gdalinfo_json(sds)["bands"][0]
    assert band["scale"] == 10000.0, "the trap this test guards against is in the file"
    gdal = gdal_raw(sds, tmp_path, "int16")
    out = decode(open_granule(path, [ndvi]))[ndvi].values
    valid = (gdal != -3000) & (gdal >= -2000) & (gdal <= 10000)
    assert np.count_nonzero(valid) > 1000
    expected = np.where(valid, gdal.astype(np.float64) / 10000.0, np.nan).astype(np.float32)
    np.testing.assert_array_equal(out, expected, strict=True)
    assert np.nanmin(out) >= -0.2 and np.nanmax(out) <= 1.0
    # what a CF reader would do with the stored 10000 (multiply): absurd NDVI
    assert np.abs(gdal[valid].astype(np.float64) * band["scale"]).max() > 1.0


@pytest.mark.parametrize(
    ("name", "layer_name", "stored_scale", "convention"),
    [
        pytest.param(
            "MOD09GA.A2008296.h14v17.006.2015181011753.hdf",
            "sur_refl_b01_1",
            10000.0,
            "divide",
            id="MOD09GA-divide-10000",
        ),
        pytest.param(
            "MOD09A1.A2017193.h18v04.006.2017202035302.hdf",
            "sur_refl_b01",
            0.0001,
            "hdfeos",
            id="MOD09A1-multiply-0.0001",
        ),
    ],
)
def test_surface_reflectance_b01_in_physical_range(
    name, layer_name, stored_scale, convention, tmp_path
):
    """Same quantity, opposite scale conventions in the two files: both land in [-0.01, 1.6]."""
    path, layer = _registry_layer(name, layer_name)
    sds = gdal_subdataset(path, layer_name)
    assert gdalinfo_json(sds)["bands"][0]["scale"] == pytest.approx(stored_scale, rel=1e-12)
    assert layer.scaling.convention == convention
    gdal = gdal_raw(sds, tmp_path, "int16")
    out = decode(open_granule(path, [layer_name]))[layer_name].values
    valid = (gdal != -28672) & (gdal >= -100) & (gdal <= 16000)
    assert np.count_nonzero(valid) > 100
    x = gdal.astype(np.float64)
    phys = x / 10000.0 if convention == "divide" else x * 0.0001
    np.testing.assert_array_equal(
        out, np.where(valid, phys, np.nan).astype(np.float32), strict=True
    )
    assert np.nanmin(out) >= -0.01 and np.nanmax(out) <= 1.6


def test_mod11a1_view_angle_cf_offset(tmp_path):
    """MOD11A1 ``Day_view_angl``: stored * 1 + (-65) (CF form) lies in [-65, 65] degrees."""
    path, layer = _registry_layer("MOD11A1.hdf", "Day_view_angl")
    assert layer.scaling.convention == "cf"
    sds = gdal_subdataset(path, "Day_view_angl")
    band = gdalinfo_json(sds)["bands"][0]
    assert (band["scale"], band["offset"]) == (1.0, -65.0)
    gdal = gdal_raw(sds, tmp_path, "uint8")
    out = decode(open_granule(path, ["Day_view_angl"]))["Day_view_angl"].values
    valid = (gdal != 255) & (gdal <= 130)
    assert np.count_nonzero(valid) > 1000
    expected = np.where(valid, gdal.astype(np.float64) * 1.0 - 65.0, np.nan).astype(np.float32)
    np.testing.assert_array_equal(out, expected, strict=True)
    assert np.nanmin(out) >= -65.0 and np.nanmax(out) <= 65.0
    assert np.nanmin(out) < 0, "a sign error (HDF-EOS form) would give 0..195 degrees"
