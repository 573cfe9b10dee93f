"""Synthetic VIIRS LAI granules (VNP15A2H, VJ115A2H) in the documented HDF-EOS5 layout.

**These files are synthetic.**  No VNP15A2H granule is available here, so the VIIRS demo
(``sample_tiles/demo_viirs.toml``) and the tests (``tests/pipeline/test_viirs_run.py``,
``tests/qa/test_viirs_qa.py``) read files written by this one module:

* :func:`write_vnp15` writes one granule from arrays the caller gives (the tests' hand-built
  pixels and QA words);
* :func:`synth_from_mcd15` makes one from a **real** MCD15A2 (collection 5, 1 km) granule of
  ``sample_tiles/`` (tiles h17v03, h18v03, 2012): its ``Lai_1km`` values are replicated 2 x 2
  onto the 500 m lattice (the window keeps its place in the tile) and its ``FparLai_QC`` is
  re-encoded in the VIIRS layout (:func:`viirs_qc_from_mod15`), so the maps are realistic;
* :func:`make_demo` writes the demo's set, ``python scripts/synth_viirs.py [OUT_DIR]`` (default
  ``sample_tiles/viirs_synthetic/``; deterministic, a rerun rewrites the same pixels).

The layout follows ``reference/PRODUCTS.md`` §10.2 (layers ``Lai``/``FparLai_QC``/
``FparExtra_QC``, uint8, scale 0.1, valid 0-100, fill classes 249-255; grid
``VNP_Grid_VNP15A2H``) and the structure of the real VNP13A2 granule of
``../shared/sample-data``: ``/HDFEOS/GRIDS/<grid>/Data Fields/<layer>`` with ``_FillValue``,
``scale_factor``, ``add_offset``, ``valid_range``, ``long_name``, ``units`` and
``grid_mapping = "Projection"``; ``XDim``/``YDim`` holding the pixels' left/top edges; a
``Projection`` dataset; ``StructMetadata.0`` under ``/HDFEOS INFORMATION/``
(``HE5_GCTP_SNSOID``, R = 6371007.181 m) and the identity as root attributes
(``ShortName``, ``LocalGranuleID``, ``RangeBeginningDate`` ...), as VNP13A2 has them.

Every file says what it is: root attributes ``SYNTHETIC_NOTE`` (this is not a NASA granule),
``SYNTHETIC_SOURCE`` (the real granule the pixels came from, if any) and
``SYNTHETIC_TRANSFORM`` (what was done to them); the demo's file names end in
``.synthetic.h5``, and ``LocalGranuleID`` holds the standard name the reader identifies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "sample_tiles" / "viirs_synthetic"
GRID_NAME = "VNP_Grid_VNP15A2H"
SPHERE = 6371007.181
PLATFORMS = {"VNP15A2H": "SUOMI-NPP", "VJ115A2H": "NOAA-20"}
SYNTH_NOTE = (
    "SYNTHETIC: not a NASA granule. Written by modisoft's scripts/synth_viirs.py in the "
    "VNP15A2H layout of reference/PRODUCTS.md section 10.2 for demos and tests; never use it "
    "as data about the Earth."
)
LAYERS: dict[str, dict[str, object]] = {
    "Lai": dict(long_name="Leaf area index", units="m^2/m^2", scale_factor=0.1,
                valid_range=(0, 100), _FillValue=255),
    "Fpar": dict(long_name="Fraction of photosynthetically active radiation", units="1",
                 scale_factor=0.01, valid_range=(0, 100), _FillValue=255),
    "FparLai_QC": dict(long_name="Quality for LAI and FPAR", units="bit field",
                       valid_range=(0, 254), _FillValue=255),
    "FparExtra_QC": dict(long_name="Extra detail quality for LAI and FPAR", units="bit field",
                         valid_range=(0, 254), _FillValue=255),
}
"""The layers this writer knows, with their attributes (PRODUCTS.md §10.2)."""

# MOD15 C5 FparLai_QC cloud state (bits 3-4) -> VIIRS FparExtra_QC cloud confidence (bits 0-1)
_CLOUD = np.array([0, 3, 2, 1], np.uint8)  # clear, cloudy, mixed, assumed clear
# LAI fill class -> VIIRS biome code (FparLai_QC bits 4-7)
_BIOME_OF_CLASS = {249: 11, 250: 10, 253: 9, 254: 0, 255: 12}
BIOME_VEGETATED = 11
"""Biome code written where the source holds an LAI value: the MCD15A2 crops carry no biome,
so "unclassified" (11) is written rather than a made-up cover type."""


def viirs_qc_from_mod15(qc: np.ndarray, lai: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VIIRS ``FparLai_QC`` and ``FparExtra_QC`` words carrying a MOD15 C5 ``FparLai_QC``'s
    facts.

    MOD15 (QA.md §2): bit 2 dead detector, bits 3-4 cloud state, bits 5-7 SCF_QC.  VIIRS
    (PRODUCTS.md §10.2) ``FparLai_QC``: bits 0-2 SCF_QC (the same codes), bit 3 dead
    detector, bits 4-7 biome (from the LAI fill class; :data:`BIOME_VEGETATED` for values);
    ``FparExtra_QC``: bits 0-1 cloud confidence (clear -> confident clear, assumed clear ->
    probably clear, mixed -> probably cloudy, cloudy -> confident cloudy), bit 6 snow/ice
    where the LAI holds the snow class 252; shadow, cirrus and aerosol 0.  A fill QC word
    (255) stays 255 in both.
    """
    qc = np.asarray(qc, np.uint8)
    lai = np.asarray(lai, np.uint8)
    scf = (qc >> 5) & 7
    dead = (qc >> 2) & 1
    biome = np.full(qc.shape, BIOME_VEGETATED, np.uint8)
    for code, b in _BIOME_OF_CLASS.items():
        biome[lai == code] = b
    main = (scf | (dead << 3) | (biome << 4)).astype(np.uint8)
    extra = (_CLOUD[(qc >> 3) & 3] | ((lai == 252).astype(np.uint8) << 6)).astype(np.uint8)
    fill = qc == 255
    main[fill] = 255
    extra[fill] = 255
    return main, extra


def standard_name(product: str, start: dt.date, tile: tuple[int, int], production: str) -> str:
    """``VNP15A2H.A2012001.h17v03.002.2012017211237.h5``: the archive's name pattern."""
    h, v = tile
    return f"{product}.A{start:%Y%j}.h{h:02d}v{v:02d}.002.{production}.h5"


def struct_metadata(shape: tuple[int, int], ul: tuple[float, float], pixel: float,
                    fields: Sequence[str]) -> str:
    """``StructMetadata.0`` of one HDF-EOS5 sinusoidal grid (the VNP13A2 sample's form)."""
    rows, cols = shape
    lr = (ul[0] + cols * pixel, ul[1] - rows * pixel)
    lines = ["GROUP=SwathStructure", "END_GROUP=SwathStructure", "GROUP=GridStructure",
             "\tGROUP=GRID_1", f'\t\tGridName="{GRID_NAME}"', f"\t\tXDim={cols}",
             f"\t\tYDim={rows}", f"\t\tUpperLeftPointMtrs=({ul[0]:.6f},{ul[1]:.6f})",
             f"\t\tLowerRightMtrs=({lr[0]:.6f},{lr[1]:.6f})", "\t\tProjection=HE5_GCTP_SNSOID",
             f"\t\tProjParams=({SPHERE:.6f},0,0,0,0,0,0,0,0,0,0,0,0)", "\t\tSphereCode=-1",
             "\t\tGROUP=Dimension", "\t\tEND_GROUP=Dimension", "\t\tGROUP=DataField"]
    for i, name in enumerate(fields, 1):
        lines += [f"\t\t\tOBJECT=DataField_{i}", f'\t\t\t\tDataFieldName="{name}"',
                  "\t\t\t\tDataType=H5T_NATIVE_UCHAR", '\t\t\t\tDimList=("YDim","XDim")',
                  '\t\t\t\tMaxdimList=("YDim","XDim")',
                  "\t\t\t\tCompressionType=HE5_HDFE_COMP_DEFLATE", "\t\t\t\tDeflateLevel=5",
                  f"\t\t\tEND_OBJECT=DataField_{i}"]
    lines += ["\t\tEND_GROUP=DataField", "\t\tGROUP=MergedFields", "\t\tEND_GROUP=MergedFields",
              "\tEND_GROUP=GRID_1", "END_GROUP=GridStructure", "GROUP=PointStructure",
              "END_GROUP=PointStructure", "GROUP=ZaStructure", "END_GROUP=ZaStructure", "END", ""]
    return "\n".join(lines)


def write_vnp15(path: os.PathLike[str] | str, layers: Mapping[str, np.ndarray], *,
                product: str = "VNP15A2H", tile: tuple[int, int],
                ul: tuple[float, float] | None = None, start: dt.date,
                production: str = "2012017211237", pixel: float | None = None,
                source: str = "", transform: str = "") -> Path:
    """Write one synthetic VNP15A2H/VJ115A2H granule (HDF-EOS5) and return its path.

    Parameters
    ----------
    path
        The file to write (written under a temporary name, then renamed).
    layers
        Layer name (keys of :data:`LAYERS`) -> 2-D uint8 array, all of one shape.
    product
        ``"VNP15A2H"`` or ``"VJ115A2H"``.
    tile
        ``(h, v)`` of the MODIS tile the window lies in.
    ul
        The window's upper-left outer corner (m); default the tile's corner.
    start
        The first day of the 8-day period.
    production
        The 13-digit production time of the name (``YYYYDDDHHMMSS``).
    pixel
        The pixel size (m); default the 500 m lattice, tile width / 2400.
    source, transform
        ``SYNTHETIC_SOURCE`` and ``SYNTHETIC_TRANSFORM``.
    """
    import h5py

    if product not in PLATFORMS:
        raise ValueError(f"product {product!r}: one of {', '.join(PLATFORMS)}")
    tile_size = 2 * np.pi * SPHERE / 36
    pixel = pixel or tile_size / 2400
    h, v = tile
    ul = ul or (-18 * tile_size + h * tile_size, 9 * tile_size - v * tile_size)
    shape = next(iter(layers.values())).shape
    end = min(start + dt.timedelta(days=7), dt.date(start.year, 12, 31))
    name = standard_name(product, start, tile, production)
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    grid = f"HDFEOS/GRIDS/{GRID_NAME}"
    with h5py.File(tmp, "w") as f:
        info = f.create_group("HDFEOS INFORMATION")
        info.attrs["HDFEOSVersion"] = np.bytes_("HDFEOS_5.1.16")
        info["StructMetadata.0"] = np.bytes_(struct_metadata(shape, ul, pixel, list(layers)))
        g = f.create_group(grid)
        f.create_group("HDFEOS/ADDITIONAL/FILE_ATTRIBUTES")
        g["XDim"] = ul[0] + np.arange(shape[1]) * pixel
        g["YDim"] = ul[1] - np.arange(shape[0]) * pixel
        proj = g.create_dataset("Data Fields/Projection", data=np.zeros(1, "int32"))
        proj.attrs.update(grid_mapping_name=np.bytes_("sinusoidal"), earth_radius=[SPHERE],
                          false_easting=[0.0], false_northing=[0.0],
                          longitude_of_central_meridian=[0.0])
        for lname, data in layers.items():
            spec = LAYERS[lname]
            ds = g.create_dataset(f"Data Fields/{lname}", data=np.asarray(data, np.uint8),
                                  compression="gzip", compression_opts=5,
                                  chunks=(min(shape[0], 600), min(shape[1], 600)))
            ds.attrs["_FillValue"] = np.array([spec["_FillValue"]], np.uint8)
            ds.attrs["valid_range"] = np.array(spec["valid_range"], np.uint8)
            if "scale_factor" in spec:
                ds.attrs["scale_factor"] = np.array([spec["scale_factor"]])
                ds.attrs["add_offset"] = np.array([0.0])
            ds.attrs["long_name"] = np.bytes_(spec["long_name"])
            ds.attrs["units"] = np.bytes_(spec["units"])
            ds.attrs["grid_mapping"] = np.bytes_("Projection")
        f.attrs.update({
            "ShortName": np.bytes_(product), "LocalGranuleID": np.bytes_(name),
            "VersionID": np.bytes_("002"), "ProcessVersion": np.bytes_("002"),
            "PlatformShortName": np.bytes_(PLATFORMS[product]),
            "SensorShortname": np.bytes_("VIIRS"),
            "RangeBeginningDate": np.bytes_(start.isoformat()),
            "RangeEndingDate": np.bytes_(end.isoformat()),
            "HORIZONTALTILENUMBER": np.bytes_(f"{h:02d}"),
            "VERTICALTILENUMBER": np.bytes_(f"{v:02d}"),
            "ProductionTime": np.bytes_(dt.datetime.strptime(production, "%Y%j%H%M%S")
                                        .strftime("%Y-%m-%d %H:%M:%S.000")),
            "ProcessingCenter": np.bytes_("modisoft scripts/synth_viirs.py (SYNTHETIC)"),
            "SYNTHETIC_NOTE": np.bytes_(SYNTH_NOTE),
            "SYNTHETIC_SOURCE": np.bytes_(source or "none: pixels given by the caller"),
            "SYNTHETIC_TRANSFORM": np.bytes_(transform or "none"),
        })
    os.replace(tmp, path)
    return path


def synth_from_mcd15(src: os.PathLike[str] | str, out_dir: os.PathLike[str] | str,
                     product: str = "VNP15A2H") -> Path:
    """One synthetic 500 m granule from a real MCD15A2 1 km granule (see the module)."""
    import modisoft

    ds = modisoft.open_granule(src, ["Lai_1km", "FparLai_QC"])
    grid = modisoft.Grid.from_xarray(ds["Lai_1km"])
    lai = np.asarray(ds["Lai_1km"].values, np.uint8)
    qc = np.asarray(ds["FparLai_QC"].values, np.uint8)
    main, extra = viirs_qc_from_mod15(qc, lai)
    up = {k: np.repeat(np.repeat(a, 2, 0), 2, 1)
          for k, a in (("Lai", lai), ("FparLai_QC", main), ("FparExtra_QC", extra))}
    start = dt.date.fromisoformat(ds.attrs["start_date"])
    tile = ds.attrs["tile"]
    hv = (int(tile[1:3]), int(tile[4:6]))
    production = Path(src).name.split(".")[4]
    name = standard_name(product, start, hv, production).replace(".h5", ".synthetic.h5")
    transform = ("Lai_1km replicated 2 x 2 onto the 500 m lattice (same window corners); "
                 "FparLai_QC re-encoded in the VIIRS layout by viirs_qc_from_mod15 "
                 "(SCF_QC and dead detector kept, biome from the fill class or 11, cloud "
                 "state -> cloud confidence, snow bit from LAI class 252)")
    return write_vnp15(Path(out_dir) / name, up, product=product, tile=hv,
                       ul=(grid.transform.c, grid.transform.f), start=start,
                       production=production, pixel=grid.transform.a / 2,
                       source=Path(src).name, transform=transform)


def make_demo(out_dir: os.PathLike[str] | str = DEMO_DIR, product: str = "VNP15A2H",
              sources: Sequence[os.PathLike[str]] | None = None) -> list[Path]:
    """The demo's synthetic set: one granule per MCD15A2 granule of ``sample_tiles/``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    srcs = sources or sorted((ROOT / "sample_tiles").glob("MCD15A2.A2012*.hdf"))
    return [synth_from_mcd15(s, out, product) for s in srcs]


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(DEMO_DIR))
    ap.add_argument("--product", default="VNP15A2H", choices=sorted(PLATFORMS))
    args = ap.parse_args(argv)
    files = make_demo(args.out, args.product)
    size = sum(f.stat().st_size for f in files)
    print(f"{len(files)} synthetic {args.product} granules ({size / 1e6:.1f} MB) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
