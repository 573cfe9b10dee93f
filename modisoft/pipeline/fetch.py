"""``[inputs] download = true``: the run fetches what it is missing from NASA's archive.

Before the inventory, the run's granules (its product, years or dates, and tiles: ``[inputs]
tiles``, else the named grid's, else those the output grid covers) are searched in CMR and
the missing ones downloaded, verified, into ``[inputs] paths[0]``
(:func:`modisoft.acquire.download`); files already there and verified are kept.  A granule
that cannot be fetched is a failed input of the run (exit 3), never silently absent.
Offline runs (``download = false``, the default) are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modisoft.pipeline.schema import ConfigError, RunConfig

__all__ = ["check_download", "fetch_inputs"]


def check_download(cfg: RunConfig, product: Any) -> None:
    """Check ``[inputs] download = true``: a product CMR serves, a folder to fill, dates.

    Raises
    ------
    ConfigError
        Naming the key, its value and what is accepted.
    """
    from modisoft.products import cmr_collection

    i = cfg.inputs
    if cmr_collection(product) is None:
        raise ConfigError(f"[inputs] download: {product.name} {product.collection} is not "
                          "served through NASA's CMR as modisoft knows it (MODIS collection "
                          "061 and VIIRS collection 002 are); download it by hand and set "
                          "download = false")
    first = cfg.resolve(i.paths[0])
    if any(c in i.paths[0] for c in "*?[") or (first.exists() and not first.is_dir()):
        raise ConfigError(f"[inputs] download: paths[0] {i.paths[0]!r} must be a folder (the "
                          "downloads go there), not a file or a glob pattern")
    if not (i.years or (i.start and i.end)):
        raise ConfigError("[inputs] download: needs years, or start and end, to know which "
                          "granules to fetch")
    if i.cmr_url is not None and not i.cmr_url.startswith(("http://", "https://")):
        raise ConfigError(f"[inputs] cmr_url {i.cmr_url!r}: need an http(s) URL such as "
                          "https://cmr.earthdata.nasa.gov/search/")


def fetch_inputs(cfg: RunConfig, grid: Any, echo: Callable[[str], None],
                 progress: bool = True) -> list[tuple[str, str]]:
    """Search CMR for the run's granules and download the missing ones into ``paths[0]``.

    Parameters
    ----------
    cfg
        The run configuration (``[inputs] download = true``; else nothing happens).
    grid
        The output grid (its tiles, when neither ``[inputs] tiles`` nor a named grid).
    echo
        Where the summary line goes.
    progress
        Show the download's progress bar.

    Returns
    -------
    list of (str, str)
        The granules that could not be fetched: (path they would have, reason).

    Raises
    ------
    AcquireError
        CMR could not be searched; ``EarthdataLoginError`` when the archive refused the
        login.
    """
    if not cfg.inputs.download:
        return []
    from modisoft.acquire import download, make_query, search
    from modisoft.grids import modis_tiles_covering

    i = cfg.inputs
    if i.tiles:
        where: dict[str, Any] = {"tiles": list(i.tiles)}
    elif cfg.grid.name:
        where = {"grid": cfg.grid.name}
    else:
        where = {"tiles": [f"h{h:02d}v{v:02d}"
                           for h, v in modis_tiles_covering(grid.bounds, grid.crs)]}
    when = {"years": list(i.years)} if i.years else {"dates": f"{i.start}..{i.end}"}
    query = make_query(i.product, **where, **when)
    folder = cfg.resolve(i.paths[0])
    found = search(query, url=i.cmr_url)
    report = download(found, folder, progress=progress, echo=lambda m: None)
    echo(f"download: {len(found)} granule(s) of {query.product} {query.version} in CMR: "
         f"{len(report.downloaded)} downloaded ({report.bytes / 2**20:.1f} MiB), "
         f"{len(report.present)} already present, {len(report.failed)} failed; into {folder}")
    return [(str(folder / name), f"download failed: {why}")
            for name, why in sorted(report.failed.items())]
