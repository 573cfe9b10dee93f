"""The ``modisoft`` command: thin shells over the library."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from modisoft import __version__

log = logging.getLogger("modisoft")


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING)
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("modisoft").setLevel(level)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modisoft")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def main(verbose: int, quiet: bool) -> None:
    """modisoft: satellite granules to LAI maps for carbon-cycle models."""
    _setup_logging(verbose, quiet)


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, one entry per file).")
def info(files: tuple[str, ...], as_json: bool) -> None:
    """Describe granules: product, tile, dates, grids and layers.

    FILES may be files or folders (every file directly inside is described, text files such as
    .md or .csv excepted).  Exit code 1 when
    any file could not be read (empty, truncated, corrupted); files that are recognised but not
    fully readable yet are described as far as possible and do not fail the command.
    """
    import os

    from modisoft.info import TEXT_EXTENSIONS, describe

    paths: list[str] = []
    for f in files:
        if os.path.isdir(f):
            paths.extend(
                sorted(
                    os.path.join(f, n)
                    for n in os.listdir(f)
                    if os.path.isfile(os.path.join(f, n))
                    and not n.startswith(".")
                    and os.path.splitext(n)[1].lower() not in TEXT_EXTENSIONS
                )
            )
        else:
            paths.append(f)
    results, failed = [], 0
    for p in paths:
        try:
            d = describe(p)
        except (OSError, ValueError) as exc:  # ModisoftError subclasses OSError/KeyError/...
            failed += 1
            log.error("%s", exc)
            d = {"path": os.path.abspath(p), "status": "error", "error": str(exc)}
        results.append(d)
        if not as_json:
            if d["status"] == "error":
                click.echo(f"{d['path']}\n  ERROR       {d['error']}")
            else:
                _print_text(d)
    if as_json:
        click.echo(json.dumps(results, indent=2, default=str))
    elif len(paths) > 1:
        ok = sum(r["status"] == "ok" for r in results)
        part = sum(r["status"] == "partial" for r in results)
        skipped = sum(r["status"] == "skipped" for r in results)
        click.echo(
            f"{len(paths)} files: {ok} read, {part} partly read (format not fully "
            f"supported yet), {skipped} skipped (not granules), {failed} failed",
            err=True,
        )
    if failed:
        sys.exit(1)


# Subcommands that live beside their library modules register here, one line each.
# (keep this block: other commands are added below it)
from modisoft.lai.cli import lai_command  # noqa: E402
from modisoft.pipeline.cli import run_command  # noqa: E402
from modisoft.plot_cli import plot_command  # noqa: E402
from modisoft.qa.cli import qa_command  # noqa: E402
from modisoft.timeseries.cli import smooth_command  # noqa: E402
from modisoft.warp.cli import mosaic_command  # noqa: E402

for _command in (qa_command, mosaic_command, smooth_command, lai_command, run_command,
                 plot_command):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
