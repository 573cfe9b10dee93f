"""``modisoft lai``: LAI from products, retrieval from reflectance, calibration, validation,
the AVHRR–MODIS relation and relations between sensors.  Thin shells over :mod:`modisoft.lai`."""

from __future__ import annotations

import json
import os

import click

from modisoft.cli.options import variable, verbosity_options
from modisoft.lai.inputs import open_input
from modisoft.lai.relation_kernels import RELATION_FORMS, SEASONS

__all__ = ["lai_command"]


def _overlap(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--overlap START:END`` checked: dates (either side may be empty), in order."""
    from modisoft.errors import ConfigError
    from modisoft.pipeline.validate import parse_date

    if value is None:
        return None
    if ":" not in value:
        raise click.BadParameter(f"{value!r}: need START:END (dates YYYY-MM-DD, inclusive; "
                                 "either may be empty)", param=param)
    start, _, end = value.partition(":")
    try:
        days = [parse_date(side, v) if v.strip() else None
                for side, v in (("the start", start), ("the end", end))]
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if days[0] and days[1] and days[1] < days[0]:
        raise click.BadParameter(f"{value!r}: the end {days[1]} is before the start {days[0]}",
                                 param=param)
    return ":".join(d.isoformat() if d else "" for d in days)


def _yx(da) -> str:
    return ", ".join(f"{d}: {da.sizes[d]}" for d in da.dims if d in ("y", "x"))


def _same_grid(da, where: str, source, source_name: str, option: str | None) -> None:
    """``da`` on the source's (y, x) pixels, or a usage error naming both (exit 2)."""
    want = _yx(source)
    if (da.dims != ("y", "x") and option) or _yx(da) != want:
        what = "one (y, x) layer" if option else "the same (y, x) pixels"
        msg = (f"{where} is ({', '.join(f'{d}: {n}' for d, n in da.sizes.items())}); accepted: "
               f"{what} of ({want}), the grid of SOURCE {source_name}")
        raise click.BadParameter(msg, param_hint=option) if option else click.UsageError(msg)


def _replaceable_relation(path: str, option: str = "--out") -> None:
    """Refuse an ``--out`` (``--json``) that exists and is not a relation (never replace a
    run's store or another file)."""
    if not os.path.exists(path):
        return
    try:
        if option == "--json":
            with open(path, encoding="utf-8") as f:
                ok = {"attrs", "dims", "fits"} <= set(json.load(f))
        else:
            with open_input(path) as ds:
                ok = {"form", "direction", "statistics"} <= set(ds.attrs)
    except Exception:  # not readable as one at all: not a relation either
        ok = False
    if not ok:
        raise click.UsageError(f"{option} {path} exists and is not a relation written by "
                               "'modisoft lai relation'; choose another path or remove it")


@click.group("lai", context_settings={"help_option_names": ["-h", "--help"]})
@verbosity_options
def lai_command() -> None:
    """LAI: products with QA, retrieval from reflectance, calibration, validation, AVHRR,
    relations between sensors."""


@lai_command.command("curves")
@click.option(
    "--params",
    type=click.Path(exists=True),
    default=None,
    help="Curve table (default: the shipped model-derived table).",
)
@verbosity_options
def curves_cmd(params: str | None) -> None:
    """List the curves of a curve table and their sources."""
    from modisoft.lai import load_curves

    for c in load_curves(params):
        stats = " ".join(f"{k}={c.extra[k]:.3g}" for k in ("n", "r2", "rmse") if k in c.extra)
        click.echo(f"{c.cover_type:<20} {c.index:<4} {c.form:<11} lai_max={c.lai_max:g} {stats}")
        click.echo(f"    source: {c.source}")


@lai_command.command("product")
@click.argument("granules", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(), help="Output .nc or .zarr.")
@verbosity_options
def product_cmd(granules: tuple[str, ...], out: str) -> None:
    """LAI product GRANULES (one tile) → (time, y, x) stack: lai, lai_class, qa_weight, qa_good."""
    from modisoft.lai import product_lai_stack
    from modisoft.write.plain import write_dataset

    ds = product_lai_stack(list(granules))
    ds["qa_good"] = ds["qa_good"].astype("uint8")
    write_dataset(ds, out)
    click.echo(
        f"wrote {out}: {ds.sizes['time']} dates, lai valid "
        f"{int(ds.lai.notnull().sum())}, good QA {int(ds.qa_good.sum())}"
    )


@lai_command.command("retrieve")
@click.argument("reflectance", type=click.Path(exists=True))
@click.option(
    "--landcover",
    required=True,
    type=click.Path(exists=True),
    help="Land cover: a GeoTIFF/COG in any CRS or an MCD12Q1 granule (resampled by mode "
    "onto the reflectance's grid), or a NetCDF/Zarr stack.",
)
@click.option(
    "--lc-layer",
    default="LC_Type1",
    show_default=True,
    help="Land-cover layer / mapping name (LC_Type1, LC_Type3 or a user mapping).",
)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True),
    default=None,
    help="User land-cover mapping table (TOML).",
)
@click.option("--params", type=click.Path(exists=True), default=None, help="Curve table (TOML).")
@click.option(
    "--omega",
    "omega_path",
    type=click.Path(exists=True),
    default=None,
    help="Clumping table per cover type (TOML).",
)
@click.option(
    "--clumping",
    type=click.Path(exists=True),
    default=None,
    help="Per-pixel clumping raster (NetCDF with variable 'clumping'; POLDER uint8).",
)
@click.option(
    "--index",
    type=click.Choice(["SR", "RSR", "NDVI", "MSR", "EVI"]),
    default="SR",
    show_default=True,
)
@click.option("--out", required=True, type=click.Path(), help="Output .nc or .zarr.")
@verbosity_options
def retrieve_cmd(
    reflectance, landcover, lc_layer, mapping_path, params, omega_path, clumping, index, out
) -> None:
    """Retrieve true LAI from a REFLECTANCE granule (MOD09A1, MOD13, VNP09, AVHRR …).

    The land cover's codes are taken as stored (IGBP for --lc-layer LC_Type1) and put on the
    reflectance's grid by the mode of the codes under each pixel, its fill left out."""
    from modisoft.lai import default_params, retrieve_lai
    from modisoft.write.plain import write_dataset

    p = default_params(params, clumping=omega_path, mapping=lc_layer, mapping_path=mapping_path)
    refl = open_input(reflectance)
    stack = landcover.endswith((".nc", ".zarr")) or os.path.isdir(landcover)
    lc = open_input(landcover) if stack else landcover  # a file: resampled by mode
    clump = variable(open_input(clumping), "clumping", clumping) if clumping else None
    ds = retrieve_lai(
        refl, lc, p, clumping=clump, index=index, landcover_layer=lc_layer, return_dataset=True
    )
    write_dataset(ds.drop_vars("spatial_ref", errors="ignore").compute(), out)
    click.echo(f"wrote {out}: retrieved {int((ds.lai_flag < 10).sum())} pixels")


@lai_command.command("calibrate")
@click.option(
    "--index",
    "index_path",
    required=True,
    type=click.Path(exists=True),
    help="Stack with the index variable (e.g. SR) on the reference's grid and dates.",
)
@click.option("--index-var", default="SR", show_default=True)
@click.option(
    "--reference",
    required=True,
    type=click.Path(exists=True),
    help="Stack with the reference true LAI (e.g. good-QA MOD15A2H).",
)
@click.option("--reference-var", default="lai", show_default=True)
@click.option("--weights-var", default=None, help="QA-weight variable in the reference stack.")
@click.option(
    "--cover",
    "cover_path",
    required=True,
    type=click.Path(exists=True),
    help="Stack with variable 'cover' (cover codes) on the same grid.",
)
@click.option(
    "--form",
    type=click.Choice(["exponential", "logarithmic", "power", "linear", "lut"]),
    default="exponential",
    show_default=True,
)
@click.option("--min-pairs", type=int, default=30, show_default=True)
@click.option("--out", required=True, type=click.Path(), help="Output curve table (TOML).")
@verbosity_options
def calibrate_cmd(
    index_path, index_var, reference, reference_var, weights_var, cover_path, form, min_pairs, out
) -> None:
    """Fit curves per cover type against a reference LAI; write a parameter file with n, R²,
    RMSE, bias per type."""
    from modisoft.lai import calibrate, default_params, write_curves

    p = default_params()
    idx = variable(open_input(index_path), index_var, index_path)
    ref_ds = open_input(reference)
    ref = variable(ref_ds, reference_var, reference)
    w = variable(ref_ds, weights_var, reference).values if weights_var else None
    cov = variable(open_input(cover_path), "cover", cover_path)
    curves, stats = calibrate(
        idx.values,
        ref.values,
        cov.values,
        p,
        index_name=index_var,
        forms=form,
        weights=w,
        min_pairs=min_pairs,
    )
    if not curves:
        raise click.ClickException(f"no cover type had {min_pairs} pairs: {stats}")
    write_curves(
        curves,
        out,
        header={
            "title": "calibrated by modisoft lai calibrate",
            "source": f"reference {reference}",
        },
    )
    click.echo(json.dumps(stats, indent=2))


@lai_command.command("validate")
@click.argument("retrieved", type=click.Path(exists=True))
@click.argument("reference", type=click.Path(exists=True))
@click.option("--var", default="lai", show_default=True, help="LAI variable in RETRIEVED.")
@click.option("--reference-var", default="lai", show_default=True)
@click.option(
    "--cover",
    "cover_path",
    type=click.Path(exists=True),
    default=None,
    help="Stack with variable 'cover' for per-type statistics.",
)
@click.option("--plot", type=click.Path(), default=None, help="Write a density PNG here.")
@verbosity_options
def validate_cmd(retrieved, reference, var, reference_var, cover_path, plot) -> None:
    """RMSE, bias, R² of RETRIEVED vs REFERENCE LAI per cover type (JSON on stdout)."""
    from modisoft.lai import default_params, density_plot, validation_stats

    a = variable(open_input(retrieved), var, retrieved)
    b = variable(open_input(reference), reference_var, reference)
    cov = variable(open_input(cover_path), "cover", cover_path) if cover_path else None
    stats = validation_stats(a, b, cov, default_params().mapping.cover_types)
    if plot:
        density_plot(a, b, plot, stats=stats["all"])
    click.echo(json.dumps(stats, indent=2))


@lai_command.command("avhrr")
@click.argument("stack", type=click.Path(exists=True))
@click.option("--sr-var", default="sr_avhrr", show_default=True)
@click.option("--lai-var", default="lai_modis", show_default=True)
@click.option("--overlap", required=True, callback=_overlap,
              help="Overlap period START:END (dates, inclusive).")
@click.option("--n-min", type=int, default=10, show_default=True)
@click.option("--r2-min", type=float, default=0.5, show_default=True)
@click.option("--out", required=True, type=click.Path())
@verbosity_options
def avhrr_cmd(stack, sr_var, lai_var, overlap, n_min, r2_min, out) -> None:
    """Tie AVHRR SR to MODIS LAI pixel by pixel over --overlap; apply to the whole series.

    STACK holds (time, y, x) SR_AVHRR and MODIS LAI (NaN where not good), optionally 'cover'.
    """
    from modisoft.lai import apply_avhrr_relation, fit_avhrr_relation
    from modisoft.write.plain import write_dataset

    ds = open_input(stack)
    sr, lai = variable(ds, sr_var, stack), variable(ds, lai_var, stack)
    start, _, end = overlap.partition(":")
    sel = {"time": slice(start or None, end or None)}
    rel = fit_avhrr_relation(sr.sel(sel), lai.sel(sel), ds.get("cover"), n_min=n_min, r2_min=r2_min)
    res = rel.assign(lai=apply_avhrr_relation(sr, rel))
    write_dataset(res.compute(), out)
    counts = {
        v: int((rel.fit_source == k).sum())
        for k, v in {0: "pixel", 1: "fallback", 2: "none"}.items()
    }
    click.echo(f"wrote {out}: {counts}")


@lai_command.command("relation")
@click.argument("source", type=click.Path(exists=True))
@click.argument("target", required=False, type=click.Path(exists=True))
@click.option("--source-var", required=True, help="Variable (layer) of the source sensor.")
@click.option("--target-var", required=True, help="Variable (layer) of the target sensor.")
@click.option("--overlap", default=None, callback=_overlap,
              help="Overlap period START:END (dates, inclusive); default: every date of the "
              "stacks.")
@click.option("--source-qa", default=None, help="QA preset or expression keeping good source "
              "values (SOURCE a granule with its QA layers), e.g. reliability_good.")
@click.option("--target-qa", default=None, help="The same for the target.")
@click.option("--cover", "cover_path", type=click.Path(exists=True), default=None,
              help="Stack with the cover codes on the same grid; default: SOURCE's --cover-var "
              "variable if it has one, else one stratum.")
@click.option("--cover-var", default="cover", show_default=True)
@click.option("--season", type=click.Choice(list(SEASONS)), default=None,
              help="Fit per month or per meteorological season (DJF/MAM/JJA/SON) as well.")
@click.option("--form", type=click.Choice(list(RELATION_FORMS)), default="linear",
              show_default=True)
@click.option("--n-min", type=click.IntRange(min=2), default=30, show_default=True,
              help="Fewer pairs leave a cover type (season) without a fit.")
@click.option("--source-sensor", default=None, help="Name recorded, e.g. VIIRS.")
@click.option("--target-sensor", default=None, help="Name recorded, e.g. MODIS.")
@click.option("--out", type=click.Path(), default=None, help="Relation as NetCDF (.nc) or Zarr.")
@click.option("--json", "json_out", type=click.Path(), default=None,
              help="Relation as JSON (the provenance record).")
@verbosity_options
def relation_cmd(source, target, source_var, target_var, overlap, source_qa, target_qa,
                 cover_path, cover_var, season, form, n_min, source_sensor, target_sensor, out,
                 json_out) -> None:
    """Fit a relation SOURCE sensor → TARGET sensor per cover type (and season).

    SOURCE and TARGET are stacks (NetCDF/Zarr, (time, y, x)) or granules on one grid; without
    TARGET both variables come from SOURCE.  Prints n, parameters, r2, rmse and bias (mean
    target − source) before and after the relation per cover type."""
    from modisoft.lai.relation import fit_relation, format_relation_table, relation_record
    from modisoft.qa import qa_mask
    from modisoft.write.partial import write_json_atomic
    from modisoft.write.plain import write_dataset

    if out:
        _replaceable_relation(out)
    if json_out:
        _replaceable_relation(json_out, "--json")
    src_ds = open_input(source)
    dst_ds = open_input(target) if target else src_ds
    x = variable(src_ds, source_var, source)
    y = variable(dst_ds, target_var, target or source)
    x = x.where(qa_mask(src_ds, source_qa)) if source_qa else x
    y = y.where(qa_mask(dst_ds, target_qa)) if target_qa else y
    if cover_path:
        cover = variable(open_input(cover_path), cover_var, cover_path)
    else:
        cover = src_ds.get(cover_var)
    _same_grid(y, f"{target or source}: variable {target_var!r}", x, source, None)
    if cover is not None:
        _same_grid(cover, f"{cover_path or source}: variable {cover_var!r}", x, source,
                   "--cover")
    start, _, end = (overlap or "").partition(":")
    rel = fit_relation(x, y, cover, form=form, season=season, n_min=n_min,
                       source_sensor=source_sensor, target_sensor=target_sensor,
                       period=(start or None, end or None) if overlap else None)
    if out:
        write_dataset(rel, out)
    if json_out:
        write_json_atomic(json_out, relation_record(rel))
    click.echo(format_relation_table(rel))
    for path in (p for p in (out, json_out) if p):
        click.echo(f"wrote {path}")
