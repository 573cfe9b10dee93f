"""The run configuration: a TOML file read into frozen dataclasses, checked key by key.

Every key is documented in ``docs/reference/config.md``; an unknown key or a wrong type is an
error that names the file, the table and the accepted keys (a typo never silently falls back
to a default).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from modisoft.errors import ConfigError

__all__ = [
    "ConfigError",
    "RunConfig",
    "InputsConfig",
    "GridConfig",
    "StepsConfig",
    "OutputConfig",
    "ComputeConfig",
    "LaiConfig",
    "load_config",
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


@dataclass(frozen=True)
class GridConfig:
    """``[grid]``: a named national grid, an explicit grid, or a template raster."""

    name: str | None = None
    crs: str | None = None
    resolution: float | None = None
    bounds: tuple[float, float, float, float] | None = None
    like: str | None = None
    snap: bool = True


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
    chunk: int = 512


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

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able data (dates as ISO strings)."""
        d = asdict(self)
        d.pop("source", None)
        d.pop("base_dir", None)
        if d.get("lai") is None:  # no [lai] table: the record of a product run is unchanged
            d.pop("lai", None)
        return json.loads(json.dumps(d, default=str))

    def digest(self) -> str:
        """A hash of everything that changes the outputs (not the compute settings)."""
        d = self.as_dict()
        d.pop("compute")
        d["output"].pop("quicklooks", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def resolve(self, p: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(p).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path


FORMATS = ("zarr", "netcdf", "cog", "beps")
PERIODS_HINT = "'beps10', 'dekad', 'pentad', 'month' or '<N>day'"


def _coerce(where: str, key: str, value: Any, typ: Any) -> Any:
    """Check and convert one value to the dataclass field's type."""
    text = str(typ)
    if value is None:
        return None
    if text == "Any":  # several accepted kinds: checked by the table's own check
        return value
    if "tuple[float, float, float, float]" in text:
        if not (isinstance(value, list) and len(value) == 4):
            raise ConfigError(f"[{where}] {key}: need [left, bottom, right, top], got {value!r}")
        return tuple(float(v) for v in value)
    if text.startswith("tuple"):
        items = [value] if isinstance(value, str | int) else value
        if not isinstance(items, list | tuple):
            raise ConfigError(f"[{where}] {key}: need a list, got {value!r}")
        conv = int if "int" in text else str
        try:
            return tuple(conv(v) for v in items)
        except (TypeError, ValueError):
            raise ConfigError(f"[{where}] {key}: need a list of {conv.__name__}, got {value!r}") \
                from None
    if "date" in text:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"[{where}] {key}: need a date YYYY-MM-DD, got {value!r}") from None
    if "dict" in text:
        if not isinstance(value, dict):
            raise ConfigError(f"[{where}] {key}: need a table, got {value!r}")
        return dict(value)
    if text.startswith("bool"):
        if not isinstance(value, bool):
            raise ConfigError(f"[{where}] {key}: need true or false, got {value!r}")
        return value
    if text.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"[{where}] {key}: need an integer, got {value!r}")
        return value
    if "float" in text:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"[{where}] {key}: need a number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"[{where}] {key}: need a string, got {value!r}")
    return value


def _table(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"[{where}] unknown key(s) {', '.join(unknown)}; "
                          f"accepted: {', '.join(known)}")
    kw = {k: _coerce(where, k, v, known[k].type) for k, v in data.items()}
    try:
        return cls(**kw)
    except TypeError as exc:
        missing = [f.name for f in fields(cls) if f.name not in kw
                   and f.default is MISSING and f.default_factory is MISSING]
        raise ConfigError(f"[{where}] missing required key(s): {', '.join(missing) or exc}") \
            from None


def _check(cfg: RunConfig) -> None:
    from modisoft.timeseries import METHODS

    s, o, g = cfg.steps, cfg.output, cfg.grid
    bad = [f for f in o.formats if f not in FORMATS]
    if bad:
        raise ConfigError(f"[output] formats: unknown {bad}; accepted: {', '.join(FORMATS)}")
    if s.smoother not in ("none", *METHODS):
        raise ConfigError(f"[steps] smoother {s.smoother!r}; accepted: none, "
                          f"{', '.join(METHODS)}")
    if s.reducer not in ("max", "mean", "median", "qa_best"):
        raise ConfigError(f"[steps] reducer {s.reducer!r}; accepted: max, mean, median, qa_best")
    if s.lai not in LAI_METHODS:
        raise ConfigError(f"[steps] lai {s.lai!r}; accepted: 'product' (LAI layers of "
                          "MOD15/MCD15/VNP15 products) or 'retrieve' (LAI from reflectance, "
                          "see the [lai] table)")
    if s.lai == "retrieve":
        _check_retrieve(cfg)
    elif cfg.lai is not None:
        raise ConfigError("[lai] is only used with [steps] lai = 'retrieve' (the run is "
                          f"[steps] lai = {s.lai!r}); remove the table or set lai = 'retrieve'")
    modes = sum(x is not None for x in (g.name, g.like, g.crs))
    if modes != 1:
        raise ConfigError("[grid] give exactly one of: name, like, or crs + resolution + bounds")
    if g.crs is not None and (g.resolution is None or g.bounds is None):
        raise ConfigError("[grid] crs needs resolution and bounds")
    if o.chunk < 16 or o.chunk % 16:
        raise ConfigError(f"[output] chunk {o.chunk}: need a multiple of 16, at least 16")
    if s.reducer == "qa_best" and s.qa_rule == "none" and s.weights is None:
        pass  # qa_best with no QA is max-value: allowed


LAI_METHODS = ("product", "retrieve")
SWIR_MODES = ("table", "scene", "percentiles")
BAND_ROLES = ("red", "nir", "swir", "blue")


class _Layers:
    """The layer names of a registry product, shaped like a Dataset for ``find_bands``."""

    def __init__(self, names: list[str]) -> None:
        self.data_vars = names


def _check_retrieve(cfg: RunConfig) -> None:
    """``[steps] lai = "retrieve"``: the ``[lai]`` table and the inputs product."""
    from modisoft.lai import INDICES, find_bands
    from modisoft.lai.indices import SpectralIndexError
    from modisoft.products import find_product

    lai = cfg.lai
    if lai is None or not lai.landcover:
        raise ConfigError("[lai] landcover: required with [steps] lai = 'retrieve' (MCD12Q1 "
                          "granules, a folder or glob of them, or a land-cover GeoTIFF)")
    index = lai.index.upper()
    if index not in INDICES:
        raise ConfigError(f"[lai] index {lai.index!r}; accepted: {', '.join(INDICES)}")
    swir = lai.swir
    if isinstance(swir, str):
        if swir not in SWIR_MODES:
            raise ConfigError(f"[lai] swir {swir!r}; accepted: 'table', 'scene' (alias "
                              "'percentiles') or [min, max] reflectances")
    elif not (isinstance(swir, list) and len(swir) == 2
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in swir)
              and 0 <= swir[0] < swir[1] <= 1):
        raise ConfigError(f"[lai] swir {swir!r}: need [min, max] reflectances with "
                          "0 <= min < max <= 1, or 'table' / 'scene'")
    if index != "RSR" and swir != "table":
        raise ConfigError(f"[lai] swir: only used with index = 'RSR' (index is {index!r})")
    clump = lai.clumping
    if isinstance(clump, bool) or not isinstance(clump, str | int | float):
        raise ConfigError(f"[lai] clumping {clump!r}: need 'table', a number in (0, 1], a "
                          "clumping table (.toml) or a clumping raster (GeoTIFF)")
    if not isinstance(clump, str) and not 0 < clump <= 1:
        raise ConfigError(f"[lai] clumping {clump}: a fixed Omega must be in (0, 1]")
    for key in ("params", "cover_mapping"):
        val = getattr(lai, key)
        if val is not None and val != "default" and not cfg.resolve(val).is_file():
            raise ConfigError(f"[lai] {key}: no such file {val!r} (looked for "
                              f"{cfg.resolve(val)})")
    if isinstance(clump, str) and clump != "table" and not cfg.resolve(clump).is_file():
        raise ConfigError(f"[lai] clumping: no such file {clump!r} (looked for "
                          f"{cfg.resolve(clump)}); or 'table' for Omega per cover type")
    bad = sorted(set(lai.bands) - set(BAND_ROLES))
    if bad:
        raise ConfigError(f"[lai] bands: unknown role(s) {', '.join(bad)}; accepted: "
                          f"{', '.join(BAND_ROLES)}")
    if any(not isinstance(v, str) for v in lai.bands.values()):
        raise ConfigError(f"[lai] bands: need layer names (strings), got {lai.bands!r}")
    product = find_product(cfg.inputs.product)
    if product is None:
        raise ConfigError(f"[inputs] product {cfg.inputs.product!r} is not in the registry")
    names = [x.name for x in product.layers]
    if any(n.lower().startswith("lai") for n in names):
        raise ConfigError(f"[inputs] product {product.name} is an LAI product: use [steps] "
                          "lai = 'product' for it; lai = 'retrieve' takes reflectance products "
                          "(MOD09A1, MYD09A1, MOD13A1/A2, VNP09A1, VNP13A1, ...)")
    if cfg.inputs.layer is not None:
        raise ConfigError("[inputs] layer: not used with [steps] lai = 'retrieve'; choose the "
                          "reflectance layers with [lai] bands = { red = ..., nir = ... }")
    from modisoft.lai.indices import _NEEDS

    try:
        found = find_bands(_Layers(names), lai.bands)
    except SpectralIndexError as exc:
        raise ConfigError(f"[lai] bands: {product.name}: {exc}") from None
    missing = [r for r in _NEEDS[index] if r not in found]
    if missing:
        raise ConfigError(f"[inputs] product {product.name} has no {', '.join(missing)} "
                          f"reflectance layer for index {index} (layers: {', '.join(names)}); "
                          f"name it with [lai] bands = {{ {missing[0]} = \"LAYER\" }}")
    if cfg.inputs.qa_layer is not None and cfg.inputs.qa_layer not in names:
        raise ConfigError(f"[inputs] qa_layer {cfg.inputs.qa_layer!r}: not a layer of "
                          f"{product.name} ({', '.join(names)})")
    if cfg.steps.weights and cfg.inputs.qa_layer is None and len(product.qa_layers) != 1:
        raise ConfigError("[steps] weights with lai = 'retrieve': name the QA layer the "
                          "weights read with [inputs] qa_layer")
    params = retrieval_params(cfg)
    if not any(params.curve(ct, index) for ct in params.mapping.cover_types):
        raise ConfigError(f"[lai] params: the curve table {params.curves_path} has no {index} "
                          "curves; choose another index or table")


def clumping_kind(cfg: RunConfig) -> str:
    """``"table"`` (Omega per cover type from a table), ``"number"`` (one Omega everywhere)
    or ``"raster"`` (Omega per pixel from a raster) for ``[lai] clumping``."""
    c = cfg.lai.clumping if cfg.lai is not None else "table"
    if not isinstance(c, str):
        return "number"
    if c == "table" or c.lower().endswith(".toml"):
        return "table"
    return "raster"


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


def load_config(path: str | Path) -> RunConfig:
    """Read and check a run configuration.

    Parameters
    ----------
    path
        A TOML file with the tables ``[inputs]``, ``[grid]``, ``[steps]``, ``[output]`` and
        ``[compute]`` (see ``docs/reference/config.md``). Relative paths in it are relative
        to the file's folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        Unreadable TOML, an unknown table or key, a wrong type or an unsupported value; the
        message names the file, the key and what is accepted.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tables = {"inputs": InputsConfig, "grid": GridConfig, "steps": StepsConfig,
              "output": OutputConfig, "compute": ComputeConfig, "lai": LaiConfig}
    unknown = sorted(set(data) - set(tables))
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown)}; "
                          f"accepted: {', '.join(tables)}")
    for req in ("inputs", "grid", "output"):
        if req not in data:
            raise ConfigError(f"{path}: missing the [{req}] table")
    try:
        parts = {k: _table(cls, data.get(k, {}), k) for k, cls in tables.items()
                 if k != "lai" or k in data}
        cfg = RunConfig(**parts, source=path.read_text(), base_dir=str(path.resolve().parent))
        _check(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg
