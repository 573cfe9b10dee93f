"""Relations between sensors: put one sensor's LAI (or NDVI) on another sensor's scale.

The one implementation of inter-sensor relations: VIIRS → MODIS (and back), and the AVHRR →
MODIS tie of :mod:`modisoft.lai.avhrr`, which uses the robust line and the per-cover-type fit
kept here (their numpy kernels are in :mod:`modisoft.lai.relation_kernels`).

Over an overlap period, for each cover type (land cover on the model grid; one stratum when
none is given) and, if asked, each season, the pairs (source, target) where both are finite
are fitted with a relation ``target = f(source)``:

``linear``
    ``target = a + b·source``, a robust line: Huber M-estimator by iteratively reweighted
    least squares, tuning constant k = 1.345 (95 % efficiency under normal errors — Huber
    1964, Holland & Welsch 1977), scale 1.4826 × the median absolute residual.
``power``, ``logarithmic``, ``exponential``
    The curve forms of :mod:`modisoft.lai.curves`, with ``source`` in the index's place and
    ``target`` in the LAI's place (``exponential``: source = a − b·exp(−c·target), the
    saturating form), fitted by :func:`modisoft.lai.calibrate.fit_curve` with a Huber loss.
    They are monotone with closed-form inverses; values are put on the target scale within
    ``[0, upper]``, ``upper`` the largest target value of the fit's pairs (the curve's range;
    :func:`~modisoft.lai.curves.curve_lai`).  Non-positive sources have no value on
    ``power``/``logarithmic``.

Each fit carries its statistics: ``n`` pairs, ``bias`` = mean(target − source) before the
relation, and after it ``bias_after`` = mean(target − f(source)), ``rmse`` = √mean((target −
f(source))²) and ``r2`` = 1 − Σ(target − f(source))² / Σ(target − mean target)², all over
every pair (unweighted, outliers included), and ``sd_source``, ``sd_target`` (population
standard deviations of the pairs).  A fit with fewer than ``n_min`` pairs has NaN parameters.

The cover coordinate holds the cover codes and :data:`ALL_COVERS` (−1) for the fit pooled over
all pixels; the season coordinate (when seasons are fitted) holds :data:`ALL_SEASONS`
(``"all"``, the whole overlap) and the seasons of :data:`SEASONS`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from modisoft.errors import RelationError
from modisoft.lai.relation_kernels import (
    HUBER_K,
    RELATION_FORMS,
    SEASONS,
    apply_kernel,
    fit_pairs,
    group_indices,
    huber_line_fit,
    season_index,
    stratum_line_fits,
)

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "ALL_COVERS",
    "ALL_SEASONS",
    "HUBER_K",
    "MISSING",
    "RELATION_FORMS",
    "SEASONS",
    "RelationError",
    "apply_relation",
    "fit_relation",
    "format_relation_table",
    "huber_line_fit",
    "invert_relation",
    "relation_from_record",
    "relation_record",
    "stratum_line_fits",
]

ALL_COVERS = -1
"""Cover code of the fit pooled over all pixels."""
ALL_SEASONS = "all"
"""Season label of the fit over the whole overlap period."""
MISSING = ("nan", "pass", "pooled")
"""What :func:`apply_relation` does where a pixel's cover type has no fit."""
_STATS = ("n", "r2", "rmse", "bias", "bias_after", "sd_source", "sd_target")


# ------------------------------------------------------------------------------ checks
def _check_form(form: str) -> None:
    if form not in RELATION_FORMS:
        raise RelationError(f"unknown form {form!r}; accepted forms: {', '.join(RELATION_FORMS)}")


def _check_coords(a: Any, b: Any, what: str, dims: tuple[str, ...]) -> None:
    """Equal coordinates along ``dims`` where both objects have them (to 1/1000 pixel)."""
    for d in dims:
        ca = a.coords.get(d) if hasattr(a, "coords") else None
        cb = b.coords.get(d) if hasattr(b, "coords") else None
        if ca is None or cb is None:
            continue
        va, vb = np.asarray(ca.values), np.asarray(cb.values)
        if va.shape != vb.shape:
            same = False
        elif np.issubdtype(va.dtype, np.number) and va.size > 1:
            same = np.allclose(va, vb, rtol=0, atol=1e-3 * abs(float(va[1] - va[0])))
        else:
            same = np.array_equal(va, vb)
        if not same:
            raise RelationError(
                f"{what}: coordinate {d!r} differs ({va[:1]}..{va[-1:]} vs {vb[:1]}..{vb[-1:]});"
                " accepted: the same grid and dates for both"
            )


def _as_stack(obj: Any) -> np.ndarray:
    v = np.asarray(obj.values if hasattr(obj, "values") else obj, dtype="float64")
    if v.ndim == 2:
        v = v[None]
    if v.ndim != 3:
        raise RelationError(f"expected (time, y, x) or (y, x) values, got shape {v.shape}")
    return v


def _times(obj: Any, t: int) -> np.ndarray:
    if hasattr(obj, "coords") and "time" in obj.coords and obj.coords["time"].ndim == 1:
        return np.asarray(obj.coords["time"].values)
    return np.full(t, np.datetime64("NaT"))


def _strata_codes(strata: Any, shape: tuple[int, int]) -> np.ndarray:
    """Integer code per pixel; NaN (no cover) becomes a code no fit uses."""
    s = np.asarray(strata.values if hasattr(strata, "values") else strata)
    if s.shape != shape:
        raise RelationError(f"strata shape {s.shape} differs from the (y, x) grid {shape}")
    if np.issubdtype(s.dtype, np.floating):
        return np.where(np.isfinite(s), np.nan_to_num(s), np.iinfo("int64").min).astype("int64")
    return s.astype("int64")


# ------------------------------------------------------------------------------ public
def fit_relation(
    source: Any,
    target: Any,
    strata: Any = None,
    *,
    form: str = "linear",
    season: str | None = None,
    n_min: int = 30,
    source_sensor: str | None = None,
    target_sensor: str | None = None,
    period: tuple[str | None, str | None] | None = None,
    pooled: bool = True,
    k: float = HUBER_K,
) -> xr.Dataset:
    """Fit ``target = f(source)`` per cover type (and season) over the overlap period.

    Parameters
    ----------
    source, target
        ``(time, y, x)`` (or ``(y, x)``) values of one quantity (LAI, NDVI) from two sensors on
        one grid and dates; NaN where missing or not good QA.
    strata
        ``(y, x)`` integer cover codes on the same grid (NaN: no cover); ``None``: one stratum.
    form
        One of :data:`RELATION_FORMS` (``linear``: the robust Huber line).
    season
        ``None``, ``"month"`` or ``"djf"`` (DJF/MAM/JJA/SON): fit per season as well as over
        the whole period (season ``"all"``); needs a datetime ``time`` coordinate.
    n_min
        Fewer pairs leave a fit's parameters NaN (its ``n`` and ``bias`` are still given).
    source_sensor, target_sensor
        Names recorded in the attributes (``"VIIRS"``, ``"MODIS"`` …).
    period
        ``(start, end)`` dates (inclusive) of the overlap, selected on ``time``; ``None``: all.
    pooled
        Also fit all pixels together (cover :data:`ALL_COVERS`); always so without strata.
    k
        Huber tuning constant of the linear form.

    Returns
    -------
    xarray.Dataset
        Dims ``("cover",)`` or ``("cover", "season")``; the form's parameters (``a``, ``b``
        [, ``c``] and, for curves, ``upper``) and ``n``, ``r2``, ``rmse``, ``bias``,
        ``bias_after``, ``sd_source``, ``sd_target``; attrs ``form``, ``source_sensor``,
        ``target_sensor``, ``direction``, ``season``, ``n_min``, ``description`` …

    Raises
    ------
    RelationError
        Unknown form or season; shapes or coordinates that differ; no date and pixel where
        both are valid (no overlap).

    Examples
    --------
    >>> rel = fit_relation(viirs_lai, modis_lai, cover, season="djf",
    ...                    source_sensor="VIIRS", target_sensor="MODIS")  # doctest: +SKIP
    >>> modis_scale = apply_relation(viirs_lai_all_years, rel, cover)  # doctest: +SKIP
    """
    import xarray as xr

    _check_form(form)
    if season is not None and season not in SEASONS:
        raise RelationError(f"unknown season {season!r}; accepted: None, {', '.join(SEASONS)}")
    if period is not None:
        if "time" not in getattr(source, "dims", ()) or "time" not in getattr(target, "dims", ()):
            raise RelationError(f"period {period} needs a 'time' dimension on source and target")
        sel = {"time": slice(*period)}
        source, target = source.sel(sel), target.sel(sel)
    x, y = _as_stack(source), _as_stack(target)
    if x.shape != y.shape:
        raise RelationError(
            f"source shape {x.shape} and target shape {y.shape} differ; accepted: one grid and "
            "the same dates for both"
        )
    _check_coords(source, target, "source and target", ("time", "y", "x"))
    valid = np.isfinite(x) & np.isfinite(y)
    if not valid.any():
        when = f" in period {period[0]}..{period[1]}" if period else ""
        raise RelationError(
            f"no overlap{when}: no date and pixel where both source and target are valid "
            f"(source {x.shape}, target {y.shape})"
        )
    if strata is not None:
        _check_coords(strata, source, "strata and source", ("y", "x"))
        codes = _strata_codes(strata, x.shape[1:])
        covers = sorted({int(c) for c in np.unique(codes)} - {int(np.iinfo("int64").min)})
        covers = ([ALL_COVERS] if pooled else []) + covers
    else:
        codes, covers = np.full(x.shape[1:], ALL_COVERS, "int64"), [ALL_COVERS]
    sea = season_index(_times(source, x.shape[0]), season)
    seasons = [ALL_SEASONS, *SEASONS[season]] if season else [ALL_SEASONS]
    table = _fit_table(x, y, valid, codes, sea, covers, len(seasons), form=form, n_min=n_min, k=k)
    names = [*RELATION_FORMS[form], *(() if form == "linear" else ("upper",)), *_STATS]
    dims = ("cover", "season") if season else ("cover",)
    shape = (len(covers), len(seasons)) if season else (len(covers),)
    data = {}
    for name in names:
        arr = np.array([[table[c, s][name] for s in range(len(seasons))] for c in covers])
        data[name] = (dims, arr.reshape(shape).astype("int64" if name == "n" else "float64"))
    coords = {"cover": np.array(covers, "int64")}
    if season:
        coords["season"] = np.array(seasons)
    attrs = {
        "form": form,
        "source_sensor": source_sensor or "",
        "target_sensor": target_sensor or "",
        "direction": "forward",
        "season": season or "none",
        "n_min": int(n_min),
        "period": f"{period[0] or ''}..{period[1] or ''}" if period else "",
        "description": _describe(form, source_sensor, target_sensor, "forward"),
        "statistics": "n pairs; bias = mean(target - source) before, bias_after = mean(target - "
        "f(source)) after; rmse, r2 = 1 - SSres/SStot of f(source) against target (all pairs)",
    }
    if form == "linear":
        attrs["huber_k"] = float(k)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _fit_table(x: np.ndarray, y: np.ndarray, valid: np.ndarray, codes: np.ndarray,
               sea: np.ndarray, covers: list[int], n_seasons: int, **fit: Any) -> dict:
    """One fit per (cover, season index) over the valid pairs; season 0 is the whole period."""
    xs, ys = x[valid], y[valid]
    cs = np.broadcast_to(codes, x.shape)[valid]
    ss = np.broadcast_to(sea[:, None, None], x.shape)[valid]
    by_cover = group_indices(cs, [c for c in covers if c != ALL_COVERS])
    table = {}
    for cover in covers:
        idx = np.arange(xs.size) if cover == ALL_COVERS else by_cover[cover]
        parts = {0: idx}
        if n_seasons > 1:
            parts |= {s: idx[i] for s, i in group_indices(ss[idx], range(1, n_seasons)).items()}
        for si, i in parts.items():
            table[cover, si] = fit_pairs(xs[i], ys[i], fit["form"], fit["n_min"], fit["k"])
    return table


def _describe(form: str, src: str | None, dst: str | None, direction: str) -> str:
    s, t = src or "source", dst or "target"
    fs, ft = (t, s) if direction == "inverse" else (s, t)  # the variables of the fitted form
    eq = {
        "linear": f"{ft} = a + b * {fs} (robust Huber line)",
        "power": f"{ft} = a * {fs}^b",
        "logarithmic": f"{ft} = a + b * ln({fs})",
        "exponential": f"{fs} = a - b * exp(-c * {ft})",
    }[form]
    how = "the inverse of " if direction == "inverse" else ""
    return f"{s} on the {t} scale: {how}{eq}, per cover type (and season)"


def _cover_rows(codes: np.ndarray, covers: list[int]) -> np.ndarray:
    """Row of the relation's cover coordinate for each pixel's code; ``len(covers)`` (the
    extra row of :func:`_resolve`) for codes it lacks (never the pooled row)."""
    known = np.array(sorted(c for c in covers if c != ALL_COVERS), "int64")
    rows = np.array([covers.index(c) for c in known] + [len(covers)], "int64")
    pos = np.searchsorted(known, codes)
    hit = (pos < known.size) & (known[np.minimum(pos, max(known.size - 1, 0))] == codes) \
        if known.size else np.zeros(codes.shape, bool)
    return np.where(hit, rows[np.minimum(pos, known.size)], len(covers))


def _resolve(rel: Any, missing: str, season_fallback: bool, whole: int) -> np.ndarray:
    """Per (cover row, season) the (cover row, season) whose fit is used, or −1 (NaN) / −2
    (pass through); one extra last row for codes the relation does not hold."""
    ok = np.isfinite(np.stack([rel[p].values for p in RELATION_FORMS[rel.attrs["form"]]])).all(0)
    ok = ok.reshape(rel.sizes["cover"], -1)
    nc, ns = ok.shape
    covers = list(rel["cover"].values)
    pooled = covers.index(ALL_COVERS) if ALL_COVERS in covers else None
    out = np.full((nc + 1, ns, 2), -1, "int64")
    for c in range(nc + 1):
        for s in range(ns):
            tries = [(c, s), (c, whole)] if season_fallback else [(c, s)]
            if missing == "pooled" and pooled is not None:
                tries += [(pooled, s), (pooled, whole)] if season_fallback else [(pooled, s)]
            use = next((t for t in tries if t[0] < nc and ok[t]), None)
            out[c, s] = use if use is not None else (-2 if missing == "pass" else -1, -1)
    return out


def apply_relation(
    source: Any,
    relation: Any,
    strata: Any = None,
    *,
    missing: str = "nan",
    season_fallback: bool = True,
) -> xr.DataArray:
    """Put ``source`` values on the target sensor's scale, per cover type and season.

    Parameters
    ----------
    source
        ``(time, y, x)`` or ``(y, x)`` values of the relation's source sensor (lazy or not).
    relation
        From :func:`fit_relation`, :func:`invert_relation` or :func:`relation_from_record`.
    strata
        ``(y, x)`` cover codes on the same grid; ``None`` (or a relation fitted without
        strata) uses the pooled fit for every pixel.
    missing
        Where a pixel's cover type (or a code the relation lacks) has no fit: ``"nan"`` leaves
        NaN, ``"pass"`` passes the source value through unchanged, ``"pooled"`` uses the fit
        pooled over all covers (:data:`ALL_COVERS`), else NaN.
    season_fallback
        A season without a fit uses the whole-period fit (season ``"all"``) of the same cover.

    Returns
    -------
    xarray.DataArray
        float32, dims and coordinates of ``source``, attrs naming the relation
        (``relation``: the JSON of :func:`relation_record`).

    Raises
    ------
    RelationError
        Unknown ``missing``; strata on another grid; a seasonal relation and a ``source``
        without a datetime ``time``.
    """
    import xarray as xr

    if missing not in MISSING:
        raise RelationError(f"unknown missing={missing!r}; accepted: {', '.join(MISSING)}")
    form = relation.attrs["form"]
    _check_form(form)
    src = source if isinstance(source, xr.DataArray) else xr.DataArray(
        source, dims=("time", "y", "x")[-np.ndim(source):])
    covers = [int(c) for c in relation["cover"].values]
    if strata is None or covers == [ALL_COVERS]:  # one stratum: the pooled fit everywhere
        ci = xr.DataArray(covers.index(ALL_COVERS) if ALL_COVERS in covers else len(covers))
    else:
        _check_coords(strata, src, "strata and source", ("y", "x"))
        codes = _strata_codes(strata, tuple(src.sizes[d] for d in ("y", "x")))
        ci = xr.DataArray(_cover_rows(codes, covers), dims=("y", "x"))
    labels = [str(s) for s in relation["season"].values] if "season" in relation.dims else []
    whole = labels.index(ALL_SEASONS) if labels else 0
    si = xr.DataArray(whole)
    if labels and "time" in src.dims:
        scheme = relation.attrs.get("season")
        if scheme not in SEASONS:
            raise RelationError(f"relation season scheme {scheme!r}; accepted: {list(SEASONS)}")
        pos = np.array([whole] + [labels.index(n) for n in SEASONS[scheme]])
        si = xr.DataArray(pos[season_index(src["time"].values, scheme)], dims=("time",))
    names = [*RELATION_FORMS[form], *(() if form == "linear" else ("upper",))]
    flat = {n: relation[n].values.reshape(len(covers), -1) for n in names}
    params = [[{n: float(flat[n][c, s]) for n in names} for s in range(flat[names[0]].shape[1])]
              for c in range(len(covers))]
    out = xr.apply_ufunc(
        apply_kernel, src, ci, si, dask="parallelized", output_dtypes=["float32"],
        kwargs={"resolved": _resolve(relation, missing, season_fallback, whole), "params": params,
                "form": form, "direction": relation.attrs.get("direction", "forward")},
    ).transpose(*src.dims)
    out.name = src.name
    out.attrs = {
        "long_name": f"{src.attrs.get('long_name', src.name or 'values')} on the "
        f"{relation.attrs.get('target_sensor') or 'target'} scale",
        "relation": json.dumps(relation_record(relation)),
        "relation_description": relation.attrs.get("description", ""),
    }
    if "units" in src.attrs:
        out.attrs["units"] = src.attrs["units"]
    return out


def invert_relation(relation: xr.Dataset) -> xr.Dataset:
    """The relation target → source (e.g. MODIS → VIIRS from a VIIRS → MODIS fit).

    ``linear``: the exact inverse line (a′ = −a/b, b′ = 1/b; not a refit of source on target),
    with its statistics transformed exactly (rmse′ = rmse/|b|, bias_after′ = −bias_after/b,
    r2′ = 1 − rmse′²/sd², sd of the original source).  Curve forms: the same curve applied the
    other way (``direction`` flips); their after-correction statistics (``r2``, ``rmse``,
    ``bias_after``) need the pairs and are NaN — fit the other way round to get them.
    ``bias`` changes sign and the sensors and ``sd_*`` swap in both cases.

    Raises
    ------
    RelationError
        A linear fit with slope 0 (no inverse).
    """
    rel = relation.copy(deep=True)
    form = rel.attrs["form"]
    _check_form(form)
    src, dst = rel.attrs.get("source_sensor", ""), rel.attrs.get("target_sensor", "")
    rel["bias"] = -relation["bias"]
    rel["sd_source"], rel["sd_target"] = relation["sd_target"], relation["sd_source"]
    if form == "linear":
        b = relation["b"]
        if bool((b == 0).any()):
            raise RelationError("a linear relation with slope b = 0 has no inverse")
        rel["a"], rel["b"] = -relation["a"] / b, 1.0 / b
        rel["rmse"] = relation["rmse"] / abs(b)
        rel["bias_after"] = -relation["bias_after"] / b
        rel["r2"] = 1.0 - rel["rmse"] ** 2 / rel["sd_target"] ** 2
        direction = "forward"
    else:
        for name in ("r2", "rmse", "bias_after"):
            rel[name] = relation[name] * np.nan
        was = relation.attrs.get("direction", "forward")
        direction = "inverse" if was == "forward" else "forward"
    rel.attrs.update(source_sensor=dst, target_sensor=src, direction=direction,
                     description=_describe(form, dst, src, direction))
    if form == "linear":
        rel.attrs["description"] = f"{dst or 'source'} on the {src or 'target'} scale: exact " \
            f"inverse of the robust line ({relation.attrs.get('description', '')})"
    return rel


def relation_record(relation: xr.Dataset) -> dict[str, Any]:
    """The relation as a JSON-serialisable dict (attributes and one entry per fit; NaN → null),
    for provenance and for :func:`relation_from_record`."""

    def plain(v: Any) -> Any:
        if isinstance(v, np.generic):
            v = v.item()
        return None if isinstance(v, float) and not np.isfinite(v) else v

    fits = []
    for row in relation.to_dataframe().reset_index().to_dict("records"):
        fits.append({k: plain(v) for k, v in row.items()})
    return {"attrs": {k: plain(v) for k, v in relation.attrs.items()},
            "dims": list(relation["n"].dims), "fits": fits}


def relation_from_record(record: dict[str, Any]) -> xr.Dataset:
    """Rebuild the Dataset of :func:`relation_record` (e.g. read back from a JSON file)."""
    import pandas as pd

    try:
        df = pd.DataFrame(record["fits"]).set_index(list(record["dims"]))
        attrs = record["attrs"]
        _check_form(attrs["form"])
    except (KeyError, TypeError) as exc:
        raise RelationError(f"not a relation record (missing {exc}); accepted: the dict of "
                            "relation_record") from None
    ds = df.astype("float64").to_xarray()
    order = pd.DataFrame(record["fits"])  # to_xarray sorts labels: restore the record's order
    ds = ds.reindex({d: pd.unique(order[d]) for d in record["dims"]})
    ds["n"] = ds["n"].fillna(0).astype("int64")
    ds.attrs = dict(attrs)
    return ds


def format_relation_table(relation: xr.Dataset) -> str:
    """The per-cover (and season) table: n, parameters, r2, rmse, bias before and after."""
    form = relation.attrs["form"]
    names = list(RELATION_FORMS[form])
    cols = ["cover", *(["season"] if "season" in relation.dims else []), "n", *names,
            "r2", "rmse", "bias", "bias_after"]
    head = " ".join(f"{c:>10}" for c in cols)
    lines = [f"{relation.attrs.get('description', '')}", head]
    for row in relation.to_dataframe().reset_index().to_dict("records"):
        cover = "all" if row["cover"] == ALL_COVERS else str(row["cover"])
        cells = [f"{cover:>10}"] + ([f"{row['season']:>10}"] if "season" in row else [])
        cells += [f"{int(row['n']):>10d}"]
        cells += [f"{row[c]:>10.4f}" for c in [*names, "r2", "rmse", "bias", "bias_after"]]
        lines.append(" ".join(cells))
    return "\n".join(lines)
