"""``modisoft qa``: a granule's QA classes as a table, JSON, or a mask raster."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
import numpy as np

__all__ = ["qa_command", "write_mask_geotiff"]


def write_mask_geotiff(mask: Any, valid: Any, path: str, *, tags: dict[str, str]) -> None:
    """Write a QA mask as a single-band uint8 GeoTIFF: 1 passes, 0 fails, 255 fill (nodata).

    The grid (CRS and pixel-edge transform) comes from the mask's coordinates
    (:meth:`modisoft.grids.Grid.from_xarray`).
    """
    import rasterio
    from rasterio.crs import CRS

    from modisoft.grids import Grid

    grid = Grid.from_xarray(mask)
    arr = np.asarray(mask.values).astype("uint8")
    if valid is not None:
        arr[~np.asarray(valid.values)] = 255
    tmp = f"{path}.partial-{os.getpid()}"
    profile = dict(
        driver="GTiff",
        height=grid.height,
        width=grid.width,
        count=1,
        dtype="uint8",
        crs=CRS.from_wkt(grid.crs_wkt),
        transform=grid.transform,
        nodata=255,
        compress="deflate",
    )
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(arr, 1)
        dst.update_tags(**tags)
        dst.set_band_description(1, "QA mask: 1 passes, 0 fails, 255 fill")
    os.replace(tmp, path)


def _print_table(summary: dict[str, Any]) -> None:
    click.echo(f"product {summary['product']}")
    for lyr in summary["layers"]:
        click.echo(
            f"\n{lyr['layer']} ({lyr['key']}, {lyr['dtype']}): {lyr['pixels']} pixels, "
            f"fill {lyr['fill_values']}: {lyr['fill']} ({lyr['fill_percent']:.2f}%)"
        )
        for f in lyr["fields"]:
            click.echo(f"  {f['field']} [bits {f['bits']}]")
            width = max(len(c["name"]) for c in f["classes"])
            for c in f["classes"]:
                click.echo(
                    f"    {c['code']:>3}  {c['name']:<{width}}  {c['count']:>10}  "
                    f"{c['percent']:7.2f}%  {c['meaning']}"
                )


@click.command("qa")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", "layers", multiple=True, help="Only this QA layer (repeatable).")
@click.option(
    "--product",
    default=None,
    help="Registry product NAME or NAME.COLLECTION, when the file does not identify itself.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the class counts as JSON.")
@click.option("--mask", "mask_expr", default=None, help="A preset or QA expression to map.")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="GeoTIFF for --mask.")
def qa_command(
    path: str,
    layers: tuple[str, ...],
    product: str | None,
    as_json: bool,
    mask_expr: str | None,
    out: str | None,
) -> None:
    """Count the pixels of every QA class of a granule, or write a QA mask raster.

    Without --mask: a table (or --json) of each QA field's classes with pixel counts and
    percentages.  With --mask EXPR --out FILE: a uint8 GeoTIFF on the granule's grid, 1 where
    EXPR holds, 0 where not, 255 where the QA word is fill.  EXPR is a preset (good_lai,
    clear_land, vi_good, ...) or an expression like "cloud_state == clear and not snow_ice".
    """
    from modisoft.errors import ModisoftError
    from modisoft.io.granule import inspect_granule, open_granule
    from modisoft.qa.core import _mask_and_valid, resolve_product
    from modisoft.qa.summary import qa_summary

    if (mask_expr is None) != (out is None):
        raise click.UsageError("--mask and --out go together")
    try:
        info = inspect_granule(path)
        prod = resolve_product(product) if product else info.product
        if prod is None:
            raise click.ClickException(f"{path}: product not in the registry; pass --product NAME")
        names = [lyr.name for lyr in prod.qa_layers if lyr.name in info.sds]
        if layers:
            unknown = [n for n in layers if n not in names]
            if unknown:
                raise click.ClickException(
                    f"{path}: no QA layer {', '.join(map(repr, unknown))}; QA layers: "
                    + ", ".join(map(repr, names))
                )
            names = list(layers)
        if not names:
            raise click.ClickException(
                f"{path}: {prod.name}.{prod.collection} has no QA layer with bit fields in this "
                "file"
            )
        ds = open_granule(path, names)
        if mask_expr is None:
            summary = {"path": path, **qa_summary(ds, prod)}
            if as_json:
                click.echo(json.dumps(summary, indent=2))
            else:
                _print_table(summary)
            return
        mask, valid, ctx = _mask_and_valid(ds, mask_expr, prod)
        write_mask_geotiff(
            mask,
            valid,
            out,
            tags={
                "qa_rule": mask_expr,
                "qa_expression": mask.attrs["qa_expression"],
                "qa_product": ctx.label,
                "source": os.path.basename(path),
            },
        )
        m = np.asarray(mask.values)
        n_fill = int((~np.asarray(valid.values)).sum()) if valid is not None else 0
        click.echo(
            f"{out}: {int(m.sum())} of {m.size} pixels pass {mask_expr!r} "
            f"({100.0 * m.sum() / m.size:.2f}%), {n_fill} fill"
        )
    except ModisoftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
