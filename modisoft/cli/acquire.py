"""``modisoft search`` and ``modisoft download``: granules from NASA's archive (the library
side is :mod:`modisoft.acquire`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from modisoft.cli.options import verbosity, verbosity_options

__all__ = ["search_command", "download_command"]


def _query_options(f: Callable) -> Callable:
    """The options that say what to search for, shared by both commands."""
    for opt in reversed([
        click.option("--product", "-p", default=None,
                     help="Short name, e.g. MOD15A2H (the registry's newest collection)."),
        click.option("--collection", default=None, help="Collection, e.g. 061."),
        click.option("--tiles", default=None,
                     help="MODIS tiles: h26v05,h27v05 or a preset (china22)."),
        click.option("--bbox", nargs=4, type=float, default=None,
                     metavar="WEST SOUTH EAST NORTH", help="A box in degrees."),
        click.option("--grid", default=None,
                     help="A named national grid (its tiles), e.g. china_albers_1km."),
        click.option("--dates", default=None,
                     help="2020-01-01..2020-12-31, 2020001..2020366, 2020 or 2019..2020."),
        click.option("--years", default=None, help="Whole years: 2020 or 2019,2020."),
        click.option("--day-night", type=click.Choice(["day", "night", "both"]), default=None),
        click.option("--cmr-url", default=None, envvar="MODISOFT_CMR_URL",
                     help="CMR search endpoint (default NASA's operational CMR)."),
    ]):
        f = opt(f)
    return f


def _query(o: dict[str, Any]) -> Any:
    from modisoft.acquire import make_query
    from modisoft.errors import ConfigError

    if not o["product"]:
        raise ConfigError("--product is required (e.g. --product MOD15A2H)")
    try:
        years = [int(y) for y in o["years"].split(",")] if o["years"] else []
    except ValueError:
        raise ConfigError(f"--years {o['years']!r}: need years such as 2020 or 2019,2020") \
            from None
    return make_query(o["product"], collection=o["collection"], tiles=o["tiles"],
                      bbox=o["bbox"] or None, grid=o["grid"], dates=o["dates"], years=years,
                      day_night=o["day_night"])


@click.command("search")
@_query_options
@click.option("--json", "as_json", is_flag=True, help="Print the granules as JSON.")
@verbosity_options
def search_command(as_json: bool, **o: Any) -> None:
    """List the granules NASA's archive (CMR) holds for a product, place and dates.

    \b
    modisoft search --product MOD15A2H --grid china_albers_1km --years 2020
    modisoft search -p VNP15A2H --bbox 115 39 118 41 --dates 2021-06-01..2021-08-31
    """
    from modisoft.acquire import search

    query = _query(o)
    found = search(query, url=o["cmr_url"])
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in found], indent=1))
        return
    for g in found:
        size = "?" if g.size is None else f"{g.size / 2**20:8.2f} MB"
        click.echo(f"{g.granule_ur:<48} {g.tile or '-':<7} {g.date or '-'!s:<10} {size:>11} "
                   f"{g.algorithm or 'no checksum'}")
    click.echo(_totals(found, query))


def _totals(found: list, query: Any) -> str:
    total = sum(g.size or 0 for g in found)
    tiles = {g.tile for g in found if g.tile}
    dates = {g.date for g in found if g.date}
    return (f"{len(found)} granule(s) of {query.product} {query.version}, "
            f"{query.start}..{query.end}: {len(tiles)} tile(s) x {len(dates)} date(s), "
            f"{total / 2**30:.2f} GiB")


@click.command("download")
@_query_options
@click.option("--from", "from_file", type=click.Path(dir_okay=False, exists=True),
              default=None, help="A file of granule ids, file names or URLs, one per line.")
@click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False),
              help="Folder the files go to (as [inputs] paths expects).")
@click.option("--jobs", "-j", type=click.IntRange(1, 32), default=4,
              help="Files downloaded at once.")
@verbosity_options
@click.pass_context
def download_command(ctx: click.Context, from_file: str | None, out: str, jobs: int,
                     **o: Any) -> None:
    """Download granules, verified against the archive's checksums; a rerun resumes.

    \b
    modisoft download -p MOD15A2H --grid china_albers_1km --years 2020 -o ~/modis
    modisoft download --from granules.txt -o ~/modis

    Needs an Earthdata login (~/.netrc, or EARTHDATA_TOKEN); see docs/how-to/download.md.
    Exit status: 0 every file is there and verified; 3 some failed (listed; rerun to retry);
    1 none could be fetched; 2 bad usage or a refused login.
    """
    from modisoft.acquire import download, lookup, read_granule_list, search

    quiet = verbosity(ctx)["quiet"]
    if from_file:
        names = read_granule_list(from_file)
        found_by = lookup(names, url=o["cmr_url"])
        missing = [n for n in names if n not in found_by]
        granules = list(found_by.values())
    else:
        granules, missing = search(_query(o), url=o["cmr_url"]), []
    report = download(granules, Path(out).expanduser(), jobs=jobs, progress=not quiet,
                      echo=lambda m: click.echo(f"modisoft: failed: {m}", err=True))
    for name in missing:
        report.failed[name] = "not found in CMR"
        click.echo(f"modisoft: failed: {name}: not found in CMR", err=True)
    if not quiet:
        click.echo(f"{len(report.downloaded)} downloaded ({report.bytes / 2**20:.1f} MiB), "
                   f"{len(report.present)} already present, {len(report.failed)} failed; "
                   f"into {out}")
    if report.exit_code:
        ctx.exit(report.exit_code)
