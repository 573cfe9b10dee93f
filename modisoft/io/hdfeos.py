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

from dataclasses import dataclass, field
from typing import Any

from affine import Affine
from pyproj import CRS

from modisoft.errors import StructMetadataError
from modisoft.grids import MODIS_SPHERE_RADIUS, Grid, sinusoidal_crs
from modisoft.io.odl import ODLSyntaxError, parse_odl

__all__ = [
    "FieldInfo",
    "GridInfo",
    "parse_struct_metadata",
    "packed_dms_to_degrees",
    "StructMetadataError",
]

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


def _grid_crs(proj: str, params: tuple[float, ...], sphere_code: int | None) -> CRS:
    p = proj.upper().removeprefix("HE5_")
    if p == "GCTP_SNSOID":
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
        f"projection {proj} is not supported yet (supported: GCTP_SNSOID, GCTP_GEO)"
    )


def _as_tuple(v: Any) -> tuple:
    if isinstance(v, tuple):
        return v
    return (v,)


def _fields(block: dict[str, Any]) -> tuple[FieldInfo, ...]:
    out = []
    df = block.get("DataField", {}) or {}
    for _key, obj in df.items():
        for o in obj if isinstance(obj, list) else [obj]:
            if not isinstance(o, dict) or "DataFieldName" not in o:
                continue
            dims = tuple(str(d) for d in _as_tuple(o.get("DimList", ())))
            dtype = _DTYPES.get(str(o.get("DataType", "")))
            out.append(FieldInfo(str(o["DataFieldName"]), dims, dtype))
    return tuple(out)


def _dimensions(block: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _key, obj in (block.get("Dimension", {}) or {}).items():
        for o in obj if isinstance(obj, list) else [obj]:
            if isinstance(o, dict) and "DimensionName" in o:
                out[str(o["DimensionName"])] = int(o.get("Size", 0))
    return out


def _grid_info(block: dict[str, Any]) -> GridInfo:
    name = str(block.get("GridName", "?"))
    try:
        nx, ny = int(block["XDim"]), int(block["YDim"])
        ul = tuple(float(v) for v in block["UpperLeftPointMtrs"])
        lr = tuple(float(v) for v in block["LowerRightMtrs"])
        proj = str(block["Projection"])
    except KeyError as exc:
        raise StructMetadataError(f"grid {name!r}: StructMetadata lacks {exc.args[0]}") from None
    except (TypeError, ValueError) as exc:
        raise StructMetadataError(f"grid {name!r}: malformed corner or size ({exc})") from None
    params = tuple(float(v) for v in _as_tuple(block.get("ProjParams", ())))
    sphere = block.get("SphereCode")
    origin = block.get("GridOrigin")
    if origin is not None and str(origin).upper() not in ("HDFE_GD_UL", "HE5_HDFE_GD_UL"):
        raise StructMetadataError(f"grid {name!r}: GridOrigin={origin} is not supported yet")
    crs = _grid_crs(proj, params, int(sphere) if sphere is not None else None)
    if proj.upper().removeprefix("HE5_") == "GCTP_GEO":
        ul = (packed_dms_to_degrees(ul[0]), packed_dms_to_degrees(ul[1]))
        lr = (packed_dms_to_degrees(lr[0]), packed_dms_to_degrees(lr[1]))
    if nx <= 0 or ny <= 0:
        raise StructMetadataError(f"grid {name!r}: XDim/YDim must be positive, got {nx}x{ny}")
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
        dimensions=_dimensions(block),
    )


def parse_struct_metadata(text: str) -> list[GridInfo]:
    """The grids declared in StructMetadata text (HDF-EOS2 or HDF-EOS5).

    Raises
    ------
    StructMetadataError
        When the text is not valid ODL, or a grid lacks its size, corners or projection, or
        uses an unsupported projection.
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
