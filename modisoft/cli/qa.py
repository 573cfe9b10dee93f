"""``modisoft qa``: a granule's QA classes as a table, JSON, or a mask raster (the library
side is :mod:`modisoft.qa` and :func:`modisoft.write.geotiff.write_mask_geotiff`)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from modisoft.cli.options import verbosity_options

__all__ = ["qa_command"]


def _table(summary: dict[str, Any]) -> str:
    lines = [f"product {summary['product']}"]
    for lyr in summary["layers"]:
        lines.append(
            f"\n{lyr['layer']} ({lyr['key']}, {lyr['dtype']}): {lyr['pixels']} pixels, "
            f"fill {lyr['fill_values']}: {lyr['fill']} ({lyr['fill_percent']:.2f}%)"
        )
        for f in lyr["fields"]:
            lines.append(f"  {f['field']} [bits {f['bits']}]")
            width = max(len(c["name"]) for c in f["classes"])
            for c in f["classes"]:
                lines.append(
                    f"    {c['code']:>3}  {c['name']:<{width}}  {c['count']:>10}  "
                    f"{c['percent']:7.2f}%  {c['meaning']}"
                )
    return "\n".join(lines)


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
@verbosity_options
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
    from modisoft.qa import mask_counts, open_qa_layers, qa_mask_and_fill, qa_summary
    from modisoft.write.geotiff import write_mask_geotiff

    if (mask_expr is None) != (out is None):
        raise click.UsageError("--mask and --out go together")
    ds, prod = open_qa_layers(path, product=product, layers=layers)
    if mask_expr is None:
        summary = {"path": path, **qa_summary(ds, prod)}
        click.echo(json.dumps(summary, indent=2) if as_json else _table(summary))
        return
    mask, valid = qa_mask_and_fill(ds, mask_expr, product=prod)
    tags = {k: mask.attrs[k] for k in ("qa_rule", "qa_expression", "qa_product")}
    write_mask_geotiff(mask, valid, out, tags={**tags, "source": os.path.basename(path)})
    n = mask_counts(mask, valid)
    click.echo(
        f"{out}: {n['passed']} of {n['total']} pixels pass {mask_expr!r} "
        f"({100.0 * n['passed'] / n['total']:.2f}%), {n['fill']} fill"
    )
