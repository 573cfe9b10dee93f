"""``modisoft info``: describe granules (the library side is :mod:`modisoft.info`)."""

from __future__ import annotations

import json
from typing import Any

import click

from modisoft.cli.options import verbosity_options
from modisoft.info import describe_all, granule_paths

__all__ = ["info_command"]


def _fmt_layer(lyr: dict[str, Any]) -> str:
    parts = [f"{lyr['dtype']:<7}", f"{lyr['kind']:<5}"]
    if lyr.get("fill_values"):
        parts.append("fill=" + ",".join(str(v) for v in lyr["fill_values"]))
    if lyr.get("valid_range"):
        parts.append("valid=[{}, {}]".format(*lyr["valid_range"]))
    if "scale" in lyr:
        rule = {"hdfeos": "(x-{o})*{s}", "cf": "x*{s}+{o}", "divide": "x/{s}"}[lyr["unpacking"]]
        parts.append(rule.format(s=lyr["scale"], o=lyr["offset"]))
    if lyr.get("units"):
        parts.append(f"[{lyr['units']}]")
    if lyr.get("fill_classes"):
        parts.append("classes " + " ".join(f"{k}={v}" for k, v in lyr["fill_classes"].items()))
    if not lyr.get("registry"):
        parts.append("(file attributes)")
    return " ".join(parts)


def _print_text(d: dict[str, Any]) -> None:
    click.echo(f"{d['path']}")
    click.echo(f"  format      {d['format']}  [{d['status']}]")
    if d.get("product"):
        click.echo(
            f"  product     {d['product']} collection {d.get('collection')}"
            + (f" — {d['title']}" if d.get("title") else "")
        )
    for key, label in (
        ("tile", "tile"),
        ("start_date", "start date"),
        ("end_date", "end date"),
        ("production_time", "produced"),
        ("granule_id", "granule id"),
        ("identified_from", "identified"),
    ):
        if d.get(key):
            click.echo(f"  {label:<11} {d[key]}")
    for m in d.get("identity_mismatches", []):
        click.echo(f"  MISMATCH    {m}")
    for g in d.get("grids", []):
        click.echo(
            f"  grid {g['name']} ({g['key']}): {g['shape'][0]} x {g['shape'][1]}, "
            f"{g['resolution'][0]:.6f} x {g['resolution'][1]:.6f}"
        )
        click.echo(f"    crs       {g['crs']}")
        click.echo(
            "    corners   UL ({:.6f}, {:.6f})  LR ({:.6f}, {:.6f})".format(
                *g["upper_left"], *g["lower_right"]
            )
        )
        width = max((len(lyr["name"]) for lyr in g["layers"]), default=0)
        for lyr in g["layers"]:
            click.echo(f"    {lyr['name']:<{width}}  {_fmt_layer(lyr)}")
    if d.get("non_grid_layers"):
        click.echo(f"  not on a grid: {', '.join(d['non_grid_layers'])}")
    if d.get("swath"):
        sw = d["swath"]
        click.echo(
            f"  swath       {sw['shape'][0]} lines x {sw['shape'][1]} pixels, 2-D lat/lon "
            f"({sw['geolocation']})"
        )
        width = max((len(lyr["name"]) for lyr in sw["layers"]), default=0)
        for lyr in sw["layers"]:
            click.echo(f"    {lyr['name']:<{width}}  {_fmt_layer(lyr)}")
    for key, val in (d.get("header") or {}).items():
        click.echo(f"  {key:<16} {val}")
    for n in d.get("notes", []):
        click.echo(f"  note        {n}")


@click.command("info")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, one entry per file).")
@verbosity_options
@click.pass_context
def info_command(ctx: click.Context, files: tuple[str, ...], as_json: bool) -> None:
    """Describe granules: product, tile, dates, grids and layers.

    FILES may be files or folders (every file directly inside is described, text files such as
    .md or .csv excepted).  Exit code 1 when
    any file could not be read (empty, truncated, corrupted); files that are recognised but not
    fully readable yet are described as far as possible and do not fail the command.
    """
    results = describe_all(granule_paths(files))
    if as_json:
        click.echo(json.dumps(results, indent=2, default=str))
    else:
        for d in results:
            if d["status"] == "error":
                click.echo(f"{d['path']}\n  ERROR       {d['error']}")
            else:
                _print_text(d)
        if len(results) > 1:
            click.echo(_totals(results), err=True)
    if any(r["status"] == "error" for r in results):
        ctx.exit(1)


def _totals(results: list[dict[str, Any]]) -> str:
    n = {s: sum(r["status"] == s for r in results) for s in ("ok", "partial", "skipped", "error")}
    return (
        f"{len(results)} files: {n['ok']} read, {n['partial']} partly read (format not fully "
        f"supported yet), {n['skipped']} skipped (not granules), {n['error']} failed"
    )
