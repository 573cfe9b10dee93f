"""HDF-EOS ``StructMetadata``: grids, their projection, corners and fields, as :class:`Grid`\\ s.

Projection handling follows the GCTP conventions written into HDF-EOS files:

* ``GCTP_SNSOID`` (and ``HE5_GCTP_SNSOID``): sinusoidal; ``ProjParams[0]`` is the sphere
  radius (6371007.181 m for MODIS, ``reference/GRIDS.md`` §1); corners are in metres.
* ``GCTP_GEO``: geographic; corners are packed degrees-minutes-seconds ``DDDMMMSSS.SS``; the
  ellipsoid comes from ``ProjParams``/``SphereCode`` (GCTP's default, code 0, is Clarke 1866 —
  the datum reported for MODIS CMG products, ``GRIDS.md`` §5).

``UpperLeftPointMtrs``/``LowerRightMtrs`` are taken as the outer corners of the grid.  MOD15
files declare ``PixelRegistration=HDFE_CENTER`` although their corners are the tile edges; no
half-pixel shift is applied (``GRIDS.md`` §4.1, choice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from affine import Affine
from pyproj import CRS

from modisoft.errors import MetadataError, StructMetadataError
from modisoft.grids import (
    MODIS_SPHERE_RADIUS,
    MODIS_TILE_PIXELS,
    MODIS_TILE_SIZE,
    MODIS_X0,
    MODIS_Y0,
    Grid,
    sinusoidal_crs,
)
from modisoft.io.limits import MAX_AXIS, MAX_PIXELS
from modisoft.io.odl import ODLSyntaxError, parse_odl
from modisoft.products import Product

__all__ = [
    "FieldInfo",
    "GridInfo",
    "parse_struct_metadata",
    "packed_dms_to_degrees",
    "StructMetadataError",
    "check_tile_grid",
    "check_granule_grids",
    "nominal_tile_pixels",
    "TILE_TOLERANCE",
]

TILE_TOLERANCE = 1.0
"""How far (m) a tiled grid's corners may lie outside its MODIS tile: the in-file tile width
(1111950.519667 m) differs from the exact one by ~1e-4 m per tile (``GRIDS.md`` §1.4)."""

# GCTP spheroid codes -> (semi-major, inverse flattening); 0 = sphere.  From the GCTP
# spheroid table used by HDF-EOS (sphdz.c).
_SPHEROIDS: dict[int, tuple[float, float, str]] = {
    0: (6378206.4, 294.978698213898, "Clarke 1866"),
    8: (6378137.0, 298.257222101, "GRS 1980"),
    12: (6378137.0, 298.257223563, "WGS 84"),
    15: (6378245.0, 298.3, "Krassovsky"),
    19: (6370997.0, 0.0, "Sphere R=6370997"),
    20: (6371228.0, 0.0, "Sphere R=6371228"),
    21: (6371007.181, 0.0, "Sphere R=6371007.181"),
}

_REQUIRED = ("XDim", "YDim", "UpperLeftPointMtrs", "LowerRightMtrs", "Projection")

_DTYPES = {
    "DFNT_INT8": "int8",
    "DFNT_UINT8": "uint8",
    "DFNT_INT16": "int16",
    "DFNT_UINT16": "uint16",
    "DFNT_INT32": "int32",
    "DFNT_UINT32": "uint32",
    "DFNT_INT64": "int64",
    "DFNT_UINT64": "uint64",
    "DFNT_FLOAT32": "float32",
    "DFNT_FLOAT64": "float64",
    "DFNT_CHAR8": "S1",
    "DFNT_UCHAR8": "uint8",
    "H5T_NATIVE_SCHAR": "int8",
    "H5T_NATIVE_UCHAR": "uint8",
    "H5T_NATIVE_SHORT": "int16",
    "H5T_NATIVE_USHORT": "uint16",
    "H5T_NATIVE_INT": "int32",
    "H5T_NATIVE_UINT": "uint32",
    "H5T_NATIVE_LLONG": "int64",
    "H5T_NATIVE_ULLONG": "uint64",
    "H5T_NATIVE_FLOAT": "float32",
    "H5T_NATIVE_DOUBLE": "float64",
}


@dataclass(frozen=True)
class FieldInfo:
    """A data field declared in StructMetadata."""

    name: str
    dims: tuple[str, ...]
    dtype: str | None


@dataclass(frozen=True)
class GridInfo:
    """One grid of an HDF-EOS file: its name, :class:`Grid`, fields and raw entries."""

    name: str
    grid: Grid
    fields: tuple[FieldInfo, ...]
    projection: str
    pixel_registration: str | None = None
    grid_origin: str | None = None
    proj_params: tuple[float, ...] = ()
    dimensions: dict[str, int] = field(default_factory=dict)

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


def packed_dms_to_degrees(value: float) -> float:
    """GCTP packed ``DDDMMMSSS.SS`` → decimal degrees.

    Examples
    --------
    >>> packed_dms_to_degrees(-180000000.0)
    -180.0
    >>> packed_dms_to_degrees(45030000.0)
    45.5
    """
    sign = -1.0 if value < 0 else 1.0
    v = abs(float(value))
    deg = int(v // 1_000_000)
    minutes = int((v - deg * 1_000_000) // 1000)
    seconds = v - deg * 1_000_000 - minutes * 1000
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)


def _ellipsoid_proj(params: tuple[float, ...], sphere_code: int | None) -> str:
    a = params[0] if params else 0.0
    b = params[1] if len(params) > 1 else 0.0
    if a > 0:
        if b == 0:
            return f"+R={a!r}"
        if b > 1:
            return f"+a={a!r} +b={b!r}"
        return f"+a={a!r} +es={b!r}"
    code = 0 if sphere_code is None or sphere_code < 0 else int(sphere_code)
    if code not in _SPHEROIDS:
        raise StructMetadataError(
            f"GCTP spheroid code {code} is not supported (known: {sorted(_SPHEROIDS)})"
        )
    semi, rf, _ = _SPHEROIDS[code]
    return f"+R={semi!r}" if rf == 0 else f"+a={semi!r} +rf={rf!r}"


def _grid_crs(name: str, proj: str, params: tuple[float, ...], sphere_code: int | None) -> CRS:
    p = proj.upper().removeprefix("HE5_")
    if p == "GCTP_SNSOID":
        if not params or (params[0] == 0 and (sphere_code is None or sphere_code < 0)):
            got = f"ProjParams={params}" if params else "no ProjParams"
            raise StructMetadataError(
                f"grid {name!r}: Projection={proj} needs the sphere radius in ProjParams[0] "
                f"(6371007.181 m for MODIS/VIIRS tiles) or a SphereCode >= 0, but the file has "
                f"{got} and SphereCode={sphere_code}; GCTP would fall back to Clarke 1866, "
                "placing every pixel up to ~7 km off"
            )
        lon0 = packed_dms_to_degrees(params[4]) if len(params) > 4 else 0.0
        x0 = params[6] if len(params) > 6 else 0.0
        y0 = params[7] if len(params) > 7 else 0.0
        if params and params[0] == MODIS_SPHERE_RADIUS and lon0 == x0 == y0 == 0:
            return sinusoidal_crs()
        ell = _ellipsoid_proj(params, sphere_code)
        return CRS.from_proj4(
            f"+proj=sinu +lon_0={lon0!r} +x_0={x0!r} +y_0={y0!r} {ell} +units=m +no_defs +type=crs"
        )
    if p == "GCTP_GEO":
        ell = _ellipsoid_proj(params, sphere_code)
        return CRS.from_proj4(f"+proj=longlat {ell} +no_defs +type=crs")
    raise StructMetadataError(
        f"grid {name!r}: projection {proj} is not supported yet (supported: GCTP_SNSOID, GCTP_GEO)"
    )


def _as_tuple(v: Any) -> tuple:
    if isinstance(v, tuple):
        return v
    return (v,)


def _fields(block: dict[str, Any]) -> tuple[FieldInfo, ...]:
    out = []
    df = block.get("DataField", {}) or {}
    if not isinstance(df, dict):
        raise StructMetadataError(f"grid {block.get('GridName')!r}: DataField is malformed")
    for _key, obj in df.items():
        for o in obj if isinstance(obj, list) else [obj]:
            if not isinstance(o, dict) or "DataFieldName" not in o:
                continue
            dims = tuple(str(d) for d in _as_tuple(o.get("DimList", ())))
            dtype = _DTYPES.get(str(o.get("DataType", "")))
            out.append(FieldInfo(str(o["DataFieldName"]), dims, dtype))
    return tuple(out)


def _size(name: str, key: str, value: Any) -> int:
    """A declared size: a whole number in 0..MAX_AXIS (checked before anything is built)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StructMetadataError(f"grid {name!r}: {key}={value!r} is not a whole number")
    if not 0 < value <= MAX_AXIS:
        raise StructMetadataError(
            f"grid {name!r}: {key}={value} is outside 1..{MAX_AXIS:,}, the limit per axis "
            "(docs/reference/limits.md); the StructMetadata are damaged"
        )
    return value


def _numbers(name: str, key: str, value: Any, count: int | None = None) -> tuple[float, ...]:
    vals = _as_tuple(value)
    try:
        out = tuple(float(v) for v in vals)
    except (TypeError, ValueError):
        raise StructMetadataError(
            f"grid {name!r}: {key}={value!r} is not a list of numbers"
        ) from None
    if count is not None and len(out) != count:
        raise StructMetadataError(
            f"grid {name!r}: {key}={value!r} must hold {count} numbers, it holds {len(out)}"
        )
    if not all(math.isfinite(v) for v in out):
        raise StructMetadataError(f"grid {name!r}: {key}={value!r} holds a non-finite number")
    return out


def _dimensions(name: str, block: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    dims = block.get("Dimension", {}) or {}
    if not isinstance(dims, dict):
        raise StructMetadataError(f"grid {name!r}: the Dimension group is malformed")
    for _key, obj in dims.items():
        for o in obj if isinstance(obj, list) else [obj]:
            if isinstance(o, dict) and "DimensionName" in o:
                dim = str(o["DimensionName"])
                size = o.get("Size", 0)
                if not isinstance(size, int) or not 0 <= size <= MAX_PIXELS:
                    raise StructMetadataError(
                        f"grid {name!r}: dimension {dim!r} Size={size!r} is not a whole number "
                        f"in 0..{MAX_PIXELS:,} (docs/reference/limits.md)"
                    )
                out[dim] = size
    return out


def _check_corners(name: str, ul: tuple[float, ...], lr: tuple[float, ...], unit: str) -> None:
    """Upper-left must be left of and above lower-right: swapped corners mirror the grid."""
    if ul[0] < lr[0] and ul[1] > lr[1]:
        return
    problems = []
    if ul[0] >= lr[0]:
        problems.append(f"left {ul[0]!r} >= right {lr[0]!r}")
    if ul[1] <= lr[1]:
        problems.append(f"top {ul[1]!r} <= bottom {lr[1]!r}")
    raise StructMetadataError(
        f"grid {name!r}: corners out of order, UpperLeftPointMtrs={ul} LowerRightMtrs={lr} "
        f"({unit}) give {' and '.join(problems)}; accepted: upper-left x < lower-right x and "
        "upper-left y > lower-right y (swapped corners would mirror or rotate the grid)"
    )


def _grid_info(block: dict[str, Any]) -> GridInfo:
    name = str(block.get("GridName", "?"))
    missing = [k for k in _REQUIRED if k not in block]
    if missing:
        raise StructMetadataError(f"grid {name!r}: StructMetadata lacks {missing[0]}")
    nx = _size(name, "XDim", block["XDim"])
    ny = _size(name, "YDim", block["YDim"])
    if nx * ny > MAX_PIXELS:
        raise StructMetadataError(
            f"grid {name!r}: XDim x YDim = {nx} x {ny} = {nx * ny:,} pixels, over the limit of "
            f"{MAX_PIXELS:,} (2**31, docs/reference/limits.md); the StructMetadata are damaged"
        )
    ul = _numbers(name, "UpperLeftPointMtrs", block["UpperLeftPointMtrs"], 2)
    lr = _numbers(name, "LowerRightMtrs", block["LowerRightMtrs"], 2)
    proj = str(block["Projection"])
    params = _numbers(name, "ProjParams", block.get("ProjParams", ()))
    sphere = block.get("SphereCode")
    if sphere is not None and not isinstance(sphere, int):
        raise StructMetadataError(f"grid {name!r}: SphereCode={sphere!r} is not a whole number")
    origin = block.get("GridOrigin")
    if origin is not None and str(origin).upper() not in ("HDFE_GD_UL", "HE5_HDFE_GD_UL"):
        raise StructMetadataError(f"grid {name!r}: GridOrigin={origin} is not supported yet")
    crs = _grid_crs(name, proj, params, sphere)
    unit = "metres"
    if proj.upper().removeprefix("HE5_") == "GCTP_GEO":
        ul = (packed_dms_to_degrees(ul[0]), packed_dms_to_degrees(ul[1]))
        lr = (packed_dms_to_degrees(lr[0]), packed_dms_to_degrees(lr[1]))
        unit = "degrees, unpacked from DMS"
    _check_corners(name, ul, lr, unit)
    tr = Affine((lr[0] - ul[0]) / nx, 0.0, ul[0], 0.0, (lr[1] - ul[1]) / ny, ul[1])
    grid = Grid(crs.to_wkt(), tr, (ny, nx))
    reg = block.get("PixelRegistration")
    return GridInfo(
        name=name,
        grid=grid,
        fields=_fields(block),
        projection=proj,
        pixel_registration=str(reg) if reg is not None else None,
        grid_origin=str(origin) if origin is not None else None,
        proj_params=params,
        dimensions=_dimensions(name, block),
    )


def parse_struct_metadata(text: str) -> list[GridInfo]:
    """The grids declared in StructMetadata text (HDF-EOS2 or HDF-EOS5).

    Raises
    ------
    StructMetadataError
        When the text is not valid ODL, or a grid lacks its size, corners or projection, uses
        an unsupported projection, a sinusoidal one without its sphere (``ProjParams``),
        corners out of order (left ≥ right or top ≤ bottom), or sizes over
        :data:`~modisoft.io.limits.MAX_AXIS` per axis or :data:`~modisoft.io.limits.MAX_PIXELS`
        in all.
    """
    try:
        tree = parse_odl(text)
    except ODLSyntaxError as exc:
        raise StructMetadataError(f"StructMetadata is not valid ODL: {exc}") from None
    gs = tree.get("GridStructure")
    if not isinstance(gs, dict):
        return []
    out = []
    for _key, block in gs.items():
        for b in block if isinstance(block, list) else [block]:
            if isinstance(b, dict) and "GridName" in b:
                out.append(_grid_info(b))
    return out


def nominal_tile_pixels(product: Product | None, grid_name: str) -> int | None:
    """Pixels per tile side the registry expects for a grid (1200 for a 1 km MODIS grid), or
    ``None`` when the product or the grid's resolution is not a MODIS tile resolution."""
    if product is None:
        return None
    key = product.grids.get(grid_name)
    if key is None and len(product.grids) <= 1:
        key = product.resolution
    return MODIS_TILE_PIXELS.get(key or "")


def check_tile_grid(
    info: GridInfo,
    tile: tuple[int, int] | None,
    pixels: int | None,
    tol: float = TILE_TOLERANCE,
    product: str = "the product",
) -> None:
    """Check a grid against the granule's tile id and the product's nominal tile size.

    A grid of a tiled granule (``tile`` from its metadata or name) must lie inside that MODIS
    tile, within ``tol`` metres (a full tile or an HDF-EOS subset), on the MODIS sphere; with
    ``pixels`` (:func:`nominal_tile_pixels`) it may not be larger than ``pixels`` × ``pixels``
    and its pixel size must be the tile width / ``pixels`` (relative tolerance 1e-6).
    ``product`` names the registry entry in messages.

    Raises
    ------
    StructMetadataError
        Naming the grid, the tile, the values found and what would be accepted.
    """
    g = info.grid
    name = info.name
    if pixels is not None and (g.width > pixels or g.height > pixels):
        raise StructMetadataError(
            f"grid {name!r}: XDim x YDim = {g.width} x {g.height} ({g.width * g.height:,} "
            f"pixels) is larger than the {pixels} x {pixels} pixels of a tile of {product} "
            "(the registry's nominal size); the StructMetadata are damaged"
        )
    if tile is None or info.projection.upper().removeprefix("HE5_") != "GCTP_SNSOID":
        return
    h, v = tile
    tid = f"h{h:02d}v{v:02d}"
    if not (0 <= h <= 35 and 0 <= v <= 17):
        raise StructMetadataError(f"tile {tid} is outside the MODIS tiling (h 0-35, v 0-17)")
    ell = g.crs.ellipsoid
    if ell is None or abs(ell.semi_major_metre - MODIS_SPHERE_RADIUS) > 1e-3 or (
        abs(ell.semi_minor_metre - ell.semi_major_metre) > 1e-3
    ):
        raise StructMetadataError(
            f"grid {name!r} of tile {tid}: ProjParams={info.proj_params} put it on "
            f"{ell.name if ell else 'no ellipsoid'}, not the MODIS sphere R={MODIS_SPHERE_RADIUS}"
        )
    left, bottom, right, top = g.bounds
    tl, tt = MODIS_X0 + h * MODIS_TILE_SIZE, MODIS_Y0 - v * MODIS_TILE_SIZE
    tr, tb = tl + MODIS_TILE_SIZE, tt - MODIS_TILE_SIZE
    if left < tl - tol or right > tr + tol or top > tt + tol or bottom < tb - tol:
        raise StructMetadataError(
            f"grid {name!r}: corners UL ({left!r}, {top!r}) LR ({right!r}, {bottom!r}) are not "
            f"inside tile {tid} (UL ({tl:.6f}, {tt:.6f}) LR ({tr:.6f}, {tb:.6f}), tile width "
            f"{MODIS_TILE_SIZE:.7f} m) within {tol} m; accepted: the tile's corners or a subset "
            "inside them"
        )
    if pixels is not None:
        size = MODIS_TILE_SIZE / pixels
        res_x, res_y = abs(g.transform.a), abs(g.transform.e)
        if max(abs(res_x - size), abs(res_y - size)) > 1e-6 * size:
            raise StructMetadataError(
                f"grid {name!r} of tile {tid}: pixel size {res_x!r} x {res_y!r} m from the "
                f"corners and XDim/YDim; the product's nominal size is {size:.7f} m "
                f"(tile width / {pixels})"
            )


def check_granule_grids(
    path: str, grids: tuple[GridInfo, ...], tile: tuple[int, int] | None, product: Product | None
) -> None:
    """:func:`check_tile_grid` for every grid of a granule; a :class:`MetadataError` naming
    the file when one fails."""
    label = f"{product.name}.{product.collection}" if product is not None else "the product"
    for g in grids:
        try:
            check_tile_grid(g, tile, nominal_tile_pixels(product, g.name), product=label)
        except StructMetadataError as exc:
            raise MetadataError(path, f"StructMetadata: {exc}") from None
