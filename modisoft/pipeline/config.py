"""The run configuration: a TOML file read into frozen dataclasses, checked key by key.

The dataclasses live in :mod:`modisoft.pipeline.schema`.  Every key is documented in
``docs/reference/config.md``; an unknown key or a wrong type is an error that names the file,
the table and the accepted keys (a typo never silently falls back to a default).
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import Any

from modisoft.pipeline.beps_config import check_beps
from modisoft.pipeline.limits import check_grid, check_size, planned_dates
from modisoft.pipeline.metadata import check_metadata, output_quantity
from modisoft.pipeline.schema import (
    BAND_ROLES,
    LAI_METHODS,
    SWIR_MODES,
    BepsConfig,
    ComputeConfig,
    ConfigError,
    GridConfig,
    InputsConfig,
    LaiConfig,
    OutputConfig,
    RunConfig,
    StepsConfig,
    clumping_kind,
    reflectance_bands,
    resolve_grid,
    retrieval_params,
)
from modisoft.pipeline.sensors import check_sensors, normalize_inputs
from modisoft.pipeline.validate import (
    check_compute,
    check_inputs,
    check_output,
    check_qa,
    check_steps,
    parse_date,
    suggest,
)

__all__ = [
    "ConfigError",
    "RunConfig",
    "InputsConfig",
    "GridConfig",
    "StepsConfig",
    "OutputConfig",
    "ComputeConfig",
    "LaiConfig",
    "clumping_kind",
    "load_config",
    "reflectance_bands",
    "resolve_grid",
    "retrieval_params",
]



def _coerce(where: str, key: str, value: Any, typ: Any) -> Any:
    """Check and convert one value to the dataclass field's type."""
    text = str(typ)
    if value is None:
        return None
    if text == "Any":  # several accepted kinds: checked by the table's own check
        return value
    if "tuple[float, float, float, float]" in text:
        if not (isinstance(value, list) and len(value) == 4 and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
            raise ConfigError(f"[{where}] {key}: need [left, bottom, right, top] (numbers), "
                              f"got {value!r}")
        return tuple(float(v) for v in value)
    if text.startswith("tuple"):
        items = [value] if isinstance(value, str | int) else value
        conv = int if "int" in text else str
        if not isinstance(items, list | tuple) or not all(
                isinstance(v, conv) and not isinstance(v, bool) for v in items):
            raise ConfigError(f"[{where}] {key}: need a list of "
                              f"{'integers' if conv is int else 'strings'}, got {value!r}")
        return tuple(items)
    if "date" in text:
        return parse_date(f"[{where}] {key}", value)
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
    if cls is dict:  # [metadata]: free ACDD attributes
        return check_metadata(data)
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"[{where}] unknown key(s) {', '.join(unknown)}"
                          f"{suggest(unknown[0], known)}; accepted: {', '.join(known)}")
    kw = {k: _coerce(where, k, v, known[k].type) for k, v in data.items()}
    try:
        return cls(**kw)
    except TypeError as exc:
        missing = [f.name for f in fields(cls) if f.name not in kw
                   and f.default is MISSING and f.default_factory is MISSING]
        raise ConfigError(f"[{where}] missing required key(s): {', '.join(missing) or exc}") \
            from None


def _check(cfg: RunConfig) -> None:
    """Every key's value, in table order, then the grid and what the run needs."""
    s, g = cfg.steps, cfg.grid
    check_output(cfg)
    check_steps(cfg)
    if s.lai not in LAI_METHODS:
        raise ConfigError(f"[steps] lai {s.lai!r}; accepted: 'product' (LAI layers of "
                          "MOD15/MCD15/VNP15 products) or 'retrieve' (LAI from reflectance, "
                          "see the [lai] table)")
    if s.lai == "retrieve":
        _check_retrieve(cfg)
    elif cfg.lai is not None:
        raise ConfigError("[lai] is only used with [steps] lai = 'retrieve' (the run is "
                          f"[steps] lai = {s.lai!r}); remove the table or set lai = 'retrieve'")
    check_sensors(cfg)
    check_inputs(cfg)
    modes = [k for k in ("name", "like", "crs") if getattr(g, k) is not None]
    if len(modes) != 1:
        raise ConfigError("[grid] give exactly one of: name, like, or crs + resolution + "
                          f"bounds (got {', '.join(modes) or 'none'})")
    if g.crs is not None and (g.resolution is None or g.bounds is None):
        raise ConfigError("[grid] crs needs resolution and bounds")
    if g.crs is None and (g.resolution is not None or g.bounds is not None):
        raise ConfigError(f"[grid] resolution and bounds are only used with crs (the grid is "
                          f"{modes[0]} = {getattr(g, modes[0])!r})")
    if g.name is not None:
        from modisoft.grids import NATIONAL_GRIDS

        if g.name not in NATIONAL_GRIDS:
            raise ConfigError(f"[grid] name {g.name!r}{suggest(g.name, NATIONAL_GRIDS)}; "
                              f"accepted: {', '.join(sorted(NATIONAL_GRIDS))}")
    grid = check_grid(cfg)  # then the checks that import dask and xarray
    check_beps(cfg, grid)
    check_compute(cfg)
    check_size(cfg, grid, planned_dates(cfg))
    check_qa(cfg)


def _check_retrieve(cfg: RunConfig) -> None:
    """``[steps] lai = "retrieve"``: the ``[lai]`` table and the inputs product."""
    from modisoft.lai import INDEX_BANDS, INDICES
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
    if product.role_layer("lai") is not None:
        raise ConfigError(f"[inputs] product {product.name} is an LAI product: use [steps] "
                          "lai = 'product' for it; lai = 'retrieve' takes reflectance products "
                          "(MOD09A1, MYD09A1, MOD13A1/A2, VNP09A1, VNP13A1, ...)")
    if cfg.inputs.layer is not None:
        raise ConfigError("[inputs] layer: not used with [steps] lai = 'retrieve'; choose the "
                          "reflectance layers with [lai] bands = { red = ..., nir = ... }")
    found = reflectance_bands(product, lai.bands)
    missing = [r for r in INDEX_BANDS[index] if r not in found]
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
              "output": OutputConfig, "compute": ComputeConfig, "lai": LaiConfig,
              "beps": BepsConfig, "metadata": dict}
    unknown = sorted(set(data) - set(tables))
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(f'[{t}]' for t in unknown)}"
                          f"{suggest(unknown[0], tables)}; accepted: "
                          f"{', '.join(f'[{t}]' for t in tables)}")
    for req in ("inputs", "grid", "output"):
        if req not in data:
            raise ConfigError(f"{path}: missing the [{req}] table")
    try:
        data = {**data, "inputs": normalize_inputs(data["inputs"])}
        parts = {k: _table(cls, data.get(k, {}), k) for k, cls in tables.items()
                 if k not in ("lai", "beps", "metadata") or k in data}
        steps = data.get("steps", {})
        if "beps" in parts["output"].formats and isinstance(steps, dict) \
                and "period" not in steps:  # BEPS output: BEPS's day table by default
            parts["steps"] = replace(parts["steps"], period="beps_d")
        cfg = RunConfig(**parts, source=path.read_text(), base_dir=str(path.resolve().parent))
        q = output_quantity(cfg)
        if "name" not in data["output"]:  # the output is named for its quantity
            cfg = replace(cfg, output=replace(cfg.output, name=q.name))
        if "beps" in cfg.output.formats and not q.is_lai:
            raise ConfigError(f"[output] formats: BEPS reads only leaf area index, and this run "
                              f"writes {q.long_name} ({q.name}); drop 'beps' or run LAI")
        _check(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg
