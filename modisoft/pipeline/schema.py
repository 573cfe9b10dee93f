"""The shape of a run configuration (frozen dataclasses, one per TOML table) and what a
configuration means: its output grid, its clumping kind, its reflectance bands and retrieval
parameters.

:func:`modisoft.pipeline.config.load_config` reads a file into these and checks them; every key
is documented in ``docs/reference/config.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from modisoft.errors import ConfigError
from modisoft.write.beps_model import BepsControl

__all__ = [
    "BAND_ROLES",
    "BEPS_PERIODS",
    "BepsConfig",
    "ComputeConfig",
    "ConfigError",
    "FORMATS",
    "GridConfig",
    "InputsConfig",
    "LAI_METHODS",
    "LaiConfig",
    "OutputConfig",
    "RunConfig",
    "StepsConfig",
    "SWIR_MODES",
    "clumping_kind",
    "reflectance_bands",
    "resolve_grid",
    "retrieval_params",
]


@dataclass(frozen=True)
class InputsConfig:
    """``[inputs]``: which granules to use."""

    paths: tuple[str, ...]
    product: str
    layer: str | None = None
    qa_layer: str | None = None
    start: date | None = None
    end: date | None = None
    years: tuple[int, ...] = ()
    tiles: tuple[str, ...] = ()
    download: bool = False
    cmr_url: str | None = None
    products: tuple[str, ...] = ()  # a multi-sensor run (pipeline.sensors); product: the first
    sensor_priority: tuple[str, ...] = ()  # ties of equal QA: default the order of products


@dataclass(frozen=True)
class GridConfig:
    """``[grid]``: a named national grid, an explicit grid, or a template raster."""

    name: str | None = None
    crs: str | None = None
    resolution: float | None = None
    bounds: tuple[float, float, float, float] | None = None
    like: str | None = None
    snap: bool = False  # bounds as given, like gdalwarp -te; true: outwards to the lattice


@dataclass(frozen=True)
class StepsConfig:
    """``[steps]``: QA rule, resampling, compositing, smoothing and LAI method."""

    qa_rule: str = "none"
    weights: str | None = None
    resampling: str = "nearest"
    fuse: str = "first"
    period: str = "beps10"
    reducer: str = "qa_best"
    smoother: str = "none"
    smoother_params: dict[str, Any] = field(default_factory=dict)
    min_obs: int | None = None
    lai: str = "product"


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: where, which writers, and their options."""

    dir: str
    formats: tuple[str, ...] = ("zarr",)
    name: str = "lai"
    beps_stem: str = "lai"
    beps_suffixes: str = "beps_d"
    beps_combine: str = "mean"
    quicklooks: bool = False
    report: bool = True  # report.html at the end of the run (modisoft report: any time)
    chunk: int = 512
    zarr_format: int = 3


@dataclass(frozen=True)
class ComputeConfig:
    """``[compute]``: the dask cluster."""

    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "4GiB"
    scheduler: str | None = None
    band_rows: int | None = None


@dataclass(frozen=True)
class LaiConfig:
    """``[lai]``: LAI retrieval from reflectance (used with ``[steps] lai = "retrieve"``).

    ``swir`` and ``clumping`` take several kinds of value (a string or numbers); they are
    checked by :func:`load_config`.
    """

    landcover: tuple[str, ...] = ()
    landcover_layer: str = "LC_Type1"
    cover_mapping: str | None = None
    index: str = "SR"
    swir: Any = "table"
    params: str = "default"
    clumping: Any = "table"
    bands: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BepsConfig(BepsControl):
    """``[beps]``: the BEPS_D files' land cover (``igbp`` or ``beps`` codes), window and
    lat/lon, plus the control-file entries modisoft cannot know (inherited from
    :class:`~modisoft.write.BepsControl`, the one list of them)."""

    landcover: tuple[str, ...] = ()
    landcover_layer: str = "LC_Type1"
    landcover_codes: str = "igbp"
    window: tuple[int, ...] | None = None
    latlon: bool = True


BEPS_PERIODS = ("beps_d", "beps_d_guide")  # BEPS_D's day table (required with BEPS output)


@dataclass(frozen=True)
class RunConfig:
    """A whole national run (see :func:`load_config`)."""

    inputs: InputsConfig
    grid: GridConfig
    steps: StepsConfig
    output: OutputConfig
    compute: ComputeConfig
    source: str = ""
    base_dir: str = "."
    lai: LaiConfig | None = None
    beps: BepsConfig | None = None
    metadata: dict[str, str] | None = None  # [metadata]: ACDD attributes (pipeline.metadata)

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able data (dates as ISO strings)."""
        d = asdict(self)
        d.pop("source", None)
        d.pop("base_dir", None)
        for table in ("lai", "beps", "metadata"):  # an absent optional table: no record
            if d.get(table) is None:
                d.pop(table, None)
        return json.loads(json.dumps(d, default=str))

    def digest(self) -> str:
        """A hash of everything that changes the outputs (not the compute settings)."""
        d = self.as_dict()
        d.pop("compute")
        d["output"].pop("quicklooks", None)
        d["output"].pop("report", None)
        for key in ("download", "cmr_url"):  # where the inputs came from, not what they are
            d["inputs"].pop(key, None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def resolve(self, p: str) -> Path:
        """A path from the config, relative to the config file's folder, made absolute and
        normalised (what a run prints never has ``..`` in it)."""
        path = Path(p).expanduser()
        return Path(os.path.abspath(path if path.is_absolute() else Path(self.base_dir) / path))


FORMATS = ("zarr", "netcdf", "cog", "beps")
PERIODS_HINT = "'beps_d', 'beps_d_guide', 'beps10', 'dekad', 'pentad', 'month' or '<N>day'"
LAI_METHODS = ("product", "retrieve")
SWIR_MODES = ("table", "scene", "percentiles")
BAND_ROLES = ("red", "nir", "swir", "blue")


def clumping_kind(cfg: RunConfig) -> str:
    """``"table"`` (Omega per cover type from a table), ``"number"`` (one Omega everywhere)
    or ``"raster"`` (Omega per pixel from a raster) for ``[lai] clumping``."""
    c = cfg.lai.clumping if cfg.lai is not None else "table"
    if not isinstance(c, str):
        return "number"
    if c == "table" or c.lower().endswith(".toml"):
        return "table"
    return "raster"


def resolve_grid(cfg: RunConfig) -> Any:
    """The output :class:`~modisoft.grids.Grid` of ``[grid]``.

    Parameters
    ----------
    cfg
        The run configuration.

    Returns
    -------
    modisoft.grids.Grid

    Raises
    ------
    ConfigError
        When the named grid, the template raster or the explicit grid cannot be used.
    """
    from modisoft.grids import grid_from_bounds, grid_like, national_grid

    g = cfg.grid
    try:
        if g.name is not None:
            return national_grid(g.name)
        if g.like is not None:
            return grid_like(str(cfg.resolve(g.like)))
        return grid_from_bounds(g.crs, g.resolution, g.bounds, snap=g.snap)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"[grid]: {exc}") from None


def reflectance_bands(product: Any, bands: dict[str, str]) -> dict[str, str]:
    """The reflectance layers of a registry product by role, ``[lai] bands`` overriding.

    Parameters
    ----------
    product
        A :class:`~modisoft.products.Product`; its ``roles`` name its ``red``, ``nir``,
        ``swir`` and ``blue`` layers.
    bands
        ``[lai] bands``: role → layer name, replacing or adding roles.

    Returns
    -------
    dict
        Role → layer name, in the order ``red``, ``nir``, ``swir``, ``blue`` (then added ones).

    Raises
    ------
    ConfigError
        When ``bands`` names a layer the product does not have.
    """
    names = [x.name for x in product.layers]
    out = {r: product.roles[r] for r in BAND_ROLES if r in product.roles}
    for role, name in bands.items():
        if name not in names:
            raise ConfigError(f"[lai] bands: {product.name}: band {role!r}: no layer {name!r} "
                              f"in the product; layers: {', '.join(names)}")
        out[role] = name
    return out


def retrieval_params(cfg: RunConfig) -> Any:
    """The :class:`~modisoft.lai.LaiParams` of ``[lai]``: curves, Omega per type, mapping.

    Raises
    ------
    ConfigError
        When a table cannot be read; the message names the ``[lai]`` key and the file.
    """
    from modisoft.lai import LaiParameterError, default_params

    lai = cfg.lai or LaiConfig()
    curves = None if lai.params == "default" else str(cfg.resolve(lai.params))
    clump = lai.clumping
    table = str(cfg.resolve(clump)) if clumping_kind(cfg) == "table" and clump != "table" \
        else None
    mapping_path = str(cfg.resolve(lai.cover_mapping)) if lai.cover_mapping else None
    try:
        return default_params(curves, clumping=table, mapping=lai.landcover_layer,
                              mapping_path=mapping_path)
    except LaiParameterError as exc:
        key = "params" if curves and curves in str(exc) else \
            "clumping" if table and table in str(exc) else "cover_mapping / landcover_layer"
        raise ConfigError(f"[lai] {key}: {exc}") from None
