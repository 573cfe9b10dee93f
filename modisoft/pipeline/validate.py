"""Value checks of a run configuration, key by key, before any work: dates, the compute
settings (also the ``modisoft run`` overrides), the product and its layers, the QA rule and
weights, the steps and the outputs.

Every failure is a :class:`~modisoft.errors.ConfigError` naming the table and key, the value
given and what would be accepted (with a did-you-mean when a close match exists). The limits
are documented in ``docs/reference/config.md`` ("Limits checked before any work").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from modisoft.pipeline.fetch import check_download
from modisoft.pipeline.schema import FORMATS, ConfigError, RunConfig

__all__ = [
    "MIN_MEMORY_LIMIT",
    "PERIODS",
    "SMOOTHER_PARAMS",
    "YEARS",
    "check_compute",
    "check_inputs",
    "check_min_obs",
    "check_output",
    "check_qa",
    "check_steps",
    "parse_date",
    "parse_memory_limit",
    "suggest",
]

MIN_MEMORY_LIMIT = 512 * 2**20
"""The smallest ``[compute] memory_limit`` (and ``--memory-limit``): 512 MiB per worker. A
worker process holds about 210 MiB once its libraries are loaded; at 300 MiB a worker was
paused and restarted in a loop on the smallest run, at 512 MiB that run finished."""

YEARS = (1978, 2100)
"""Accepted years of ``[inputs]`` dates: from the first AVHRR (TIROS-N, 1978) to 2100."""

SMOOTHER_PARAMS = {"whittaker": ("llas",), "whittaker_asymmetric": ("llas", "p"),
                   "lacc": ("lam", "p", "iterations"), "savgol": ("max_iter",)}
"""The smoothers and the ``[steps] smoother_params`` each reads (``modisoft.timeseries.smooth``;
kept here so a config check does not import scipy: ``tests/pipeline/test_config.py`` checks
they agree)."""

PERIODS = ("beps_d", "beps_d_guide", "beps10", "dekad", "pentad", "month")
"""Named ``[steps] period`` kinds (``modisoft.timeseries.periods``), besides ``'<N>day'``."""


def suggest(value: Any, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``.

    Examples
    --------
    >>> suggest("resolutoin", ["crs", "resolution", "bounds"])
    " (did you mean 'resolution'?)"
    """
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _one_of(where: str, value: Any, accepted: Iterable[str]) -> None:
    accepted = list(accepted)
    if value not in accepted:
        raise ConfigError(f"{where} {value!r}{suggest(value, accepted)}; accepted: "
                          f"{', '.join(accepted)}")


def parse_date(where: str, value: Any) -> date:
    """A TOML date, ``"YYYY-MM-DD"`` or ``"YYYY-DDD"`` (day of year), in :data:`YEARS`.

    Examples
    --------
    >>> parse_date("[inputs] start", "2020-060")
    datetime.date(2020, 2, 29)
    """
    accepted = "a date YYYY-MM-DD or YYYY-DDD (day of year, e.g. 2020-001)"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    elif not isinstance(value, str):
        raise ConfigError(f"{where}: need {accepted}, got {value!r}")
    elif m := re.fullmatch(r"(\d{4})-(\d{3})", value.strip()):
        year, doy = int(m[1]), int(m[2])
        last = 366 if date(max(year, 1), 12, 31).timetuple().tm_yday == 366 else 365
        if year < 1 or not 1 <= doy <= last:
            raise ConfigError(f"{where}: {value!r} is not a day of year {max(year, 1)} "
                              f"(1..{last}); need {accepted}")
        day = date(year, 1, 1) + timedelta(days=doy - 1)
    else:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ConfigError(f"{where}: {value!r} is not a date ({exc}); need {accepted}") \
                from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise ConfigError(f"{where}: {value!r}: year {day.year} is outside "
                          f"{YEARS[0]}..{YEARS[1]}")
    return day


def parse_memory_limit(value: Any, where: str = "[compute] memory_limit") -> int:
    """Bytes of a memory limit (``"4GiB"``, ``"1500MB"``, a number of bytes), at least
    :data:`MIN_MEMORY_LIMIT`."""
    from dask.utils import parse_bytes

    floor = f"at least {MIN_MEMORY_LIMIT // 2**20} MiB, e.g. '4GiB'"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where}: need a size such as '4GiB', got {value!r}")
    try:
        n = parse_bytes(value) if isinstance(value, str) else int(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{where} {value!r}: not a size; need {floor}") from None
    if n < MIN_MEMORY_LIMIT:
        raise ConfigError(f"{where} {value!r} = {n:,} bytes: need {floor}")
    return n


def check_compute(cfg: RunConfig, workers: Any = None, memory_limit: Any = None,
                  scheduler: Any = None) -> tuple[int, int, str | None]:
    """``[compute]`` and its overrides (``run(workers=, memory_limit=, scheduler=)``, the
    ``--workers`` / ``--memory-limit`` / ``--scheduler`` options): the workers, the memory
    limit in bytes and the scheduler address in effect."""
    c = cfg.compute
    label = "[compute] workers" if workers is None else "workers (--workers)"
    n = c.workers if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"{label}: need an integer >= 0 (0: synchronous, no cluster), "
                          f"got {n!r}")
    limit = parse_memory_limit(c.memory_limit if memory_limit is None else memory_limit,
                               "[compute] memory_limit" if memory_limit is None
                               else "memory_limit (--memory-limit)")
    if c.threads_per_worker < 1:
        raise ConfigError(f"[compute] threads_per_worker: need an integer >= 1, got "
                          f"{c.threads_per_worker}")
    address = scheduler or c.scheduler
    if address is not None and not re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+|[^\s:/]+:\d+",
                                                 str(address)):
        raise ConfigError(f"[compute] scheduler {address!r}: need an address such as "
                          "'tcp://host:8786'")
    chunk, band = cfg.output.chunk, c.band_rows
    if band is not None and (band < 1 or band % chunk):
        raise ConfigError(f"[compute] band_rows {band}: need a positive multiple of "
                          f"[output] chunk {chunk}")
    return n, limit, address


def check_inputs(cfg: RunConfig) -> None:
    """``[inputs]``: paths, product and layers, dates, years and tiles."""
    from modisoft.products import all_products, find_product

    i = cfg.inputs
    if not i.paths or any(not p.strip() for p in i.paths):
        raise ConfigError(f"[inputs] paths: need folders, files or glob patterns, got "
                          f"{list(i.paths)!r}")
    product = find_product(i.product)
    if product is None:
        names = sorted({p.name for p in all_products()})
        raise ConfigError(f"[inputs] product {i.product!r}{suggest(i.product.upper(), names)}"
                          f" is not in the registry; accepted: {', '.join(names)}")
    names = sorted({x.name for p in _collections(i.product) for x in p.layers})
    for key in ("layer", "qa_layer"):
        val = getattr(i, key)
        if val is not None and cfg.steps.lai == "product" and val not in names:
            raise ConfigError(f"[inputs] {key} {val!r}{suggest(val, names)}: not a layer of "
                              f"{product.name}; accepted: {', '.join(names)}")
    if i.years and (i.start or i.end):
        raise ConfigError(f"[inputs] give either years ({list(i.years)}) or start/end "
                          f"({i.start} .. {i.end}), not both")
    bad = [y for y in i.years if not YEARS[0] <= y <= YEARS[1]]
    if bad:
        raise ConfigError(f"[inputs] years {list(i.years)}: {bad[0]} is outside "
                          f"{YEARS[0]}..{YEARS[1]}")
    if i.start and i.end and i.start > i.end:
        raise ConfigError(f"[inputs] start {i.start} is after end {i.end}")
    from modisoft.grids import invalid_tile_ids

    bad = invalid_tile_ids(i.tiles)
    if bad:
        raise ConfigError(f"[inputs] tiles: {bad[0]!r} is not a MODIS tile; need 'hHHvVV' "
                          "with HH 00..35 and VV 00..17, e.g. 'h26v05'")
    if i.download:
        check_download(cfg, product)


def _collections(name: str) -> list[Any]:
    from modisoft.products import all_products

    return [p for p in all_products() if p.name == name.upper()]


def check_steps(cfg: RunConfig) -> None:
    """``[steps]``, but for the QA rule and weights (:func:`check_qa`)."""
    from modisoft.warp.policy import FUSE_RULES
    from modisoft.warp.policy import METHODS as RESAMPLING

    s = cfg.steps
    _one_of("[steps] smoother", s.smoother, ("none", *SMOOTHER_PARAMS))
    _one_of("[steps] reducer", s.reducer, ("max", "mean", "median", "qa_best"))
    _one_of("[steps] resampling", s.resampling, RESAMPLING)
    _one_of("[steps] fuse", s.fuse, [f for f in FUSE_RULES if f != "count"])
    m = re.fullmatch(r"beps_d|beps_d_guide|beps10|dekad|pentad|month|(\d+)day",
                     s.period.lower())
    if not m or (m[1] is not None and int(m[1]) < 1):
        raise ConfigError(f"[steps] period {s.period!r}{suggest(s.period, PERIODS)}; "
                          f"accepted: {', '.join(PERIODS)} or '<N>day' (N >= 1), e.g. '8day'")
    if s.min_obs is not None and s.min_obs < 1:
        raise ConfigError(f"[steps] min_obs {s.min_obs}: need an integer >= 1")
    known = SMOOTHER_PARAMS.get(s.smoother, ())
    for key, val in s.smoother_params.items():
        if key not in known:
            raise ConfigError(f"[steps] smoother_params: {key!r}{suggest(key, known)} is not a "
                              f"parameter of smoother {s.smoother!r}; accepted: "
                              f"{', '.join(known) or 'none'}")
        ok = {"p": lambda v: isinstance(v, float | int) and 0 < v < 1,
              "lam": lambda v: isinstance(v, float | int) and v > 0,
              "llas": lambda v: isinstance(v, list) and len(v) > 0 and
              all(isinstance(x, float | int) for x in v)}.get(
            key, lambda v: isinstance(v, int) and v >= 1)
        if isinstance(val, bool) or not ok(val):
            need = {"p": "a number in (0, 1)", "lam": "a number > 0",
                    "llas": "a list of log10 lambda values"}.get(key, "an integer >= 1")
            raise ConfigError(f"[steps] smoother_params {key} = {val!r}: need {need}")


def check_min_obs(cfg: RunConfig, n_dates: int) -> None:
    """``[steps] min_obs`` against the run's dates: more would leave every pixel NaN."""
    s = cfg.steps
    if s.smoother != "none" and s.min_obs is not None and s.min_obs > n_dates:
        raise ConfigError(f"[steps] min_obs {s.min_obs}: more than the {n_dates} dates of the "
                          "run, so every pixel would be NaN; accepted: 1.." f"{n_dates}")


def check_qa(cfg: RunConfig) -> None:
    """``[steps] qa_rule`` and ``weights``, tried on a one-pixel stand-in of the product's QA
    layers (every collection of the product; one that accepts is enough)."""
    import numpy as np
    import xarray as xr

    from modisoft.errors import QAError
    from modisoft.qa import presets, qa_mask, weight_schemes

    s, i = cfg.steps, cfg.inputs
    prods = _collections(i.product)
    if s.weights is not None:
        names = sorted({w for p in prods for w in weight_schemes(p)})
        _one_of("[steps] weights", s.weights, names)
    two = [p for p in prods if s.lai == "product" and p.role_layer("lai_qa_extra")]
    if s.weights is not None and two and not i.qa_layer:
        raise ConfigError(f"[steps] weights {s.weights!r}: {i.product}'s QA reads two layers, "
                          f"{two[0].role_layer('lai_qa')} and {two[0].role_layer('lai_qa_extra')}"
                          "; weights read one: use [steps] qa_rule alone")
    if s.qa_rule == "none":
        return
    error = None
    for p in prods:
        want = {i.qa_layer} if i.qa_layer else \
            {p.role_layer("lai_qa"), p.role_layer("lai_qa_extra")} - {None} \
            if s.lai == "product" and p.role_layer("lai_qa") else None
        layers = [x for x in p.qa_layers if want is None or x.name in want]
        data = {x.name: (("y", "x"), np.zeros((1, 1), x.dtype)) for x in layers}
        try:
            if not data:
                raise QAError(f"{p.name}.{p.collection} has no QA layer "
                              f"{', '.join(sorted(want or ()))}")
            qa_mask(xr.Dataset(data), s.qa_rule, product=p)
            return
        except QAError as exc:
            error = error or exc
    hint = suggest(s.qa_rule, sorted({n for p in prods for n in presets(p)}))
    raise ConfigError(f"[steps] qa_rule {s.qa_rule!r}{hint}: {error}")


def check_output(cfg: RunConfig) -> None:
    """``[output]``: formats, names, BEPS options, chunk, Zarr format."""
    o = cfg.output
    bad = [f for f in o.formats if f not in FORMATS]
    if bad:
        raise ConfigError(f"[output] formats: unknown {bad}{suggest(bad[0], FORMATS)}; "
                          f"accepted: {', '.join(FORMATS)}")
    if not o.dir.strip():
        raise ConfigError("[output] dir: need a folder, got ''")
    for key in ("name", "beps_stem"):  # used in file names: never a path (docs: config.md)
        val = getattr(o, key)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", val) or ".." in val:
            raise ConfigError(f"[output] {key} {val!r}: need a file name of letters, digits, "
                              "'.', '_' and '-' (starting with a letter or digit, no '..', "
                              "at most 100 characters), not a path")
    _one_of("[output] beps_suffixes", o.beps_suffixes, ("beps_d", "index", "doy"))
    _one_of("[output] beps_combine", o.beps_combine, ("mean", "first", "last", "error"))
    if o.chunk < 16 or o.chunk % 16:
        raise ConfigError(f"[output] chunk {o.chunk}: need a multiple of 16, at least 16")
    if o.zarr_format not in (2, 3):
        raise ConfigError(f"[output] zarr_format {o.zarr_format!r}: accepted: 2 or 3")
