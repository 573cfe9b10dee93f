"""The run's inventory: find its granules (:func:`modisoft.catalog.find_files`), group them by
date and tile, and say up front what is missing."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from modisoft.catalog import GRANULE_SUFFIXES, Granule, find_files, parse_filename
from modisoft.errors import GranuleReadError
from modisoft.pipeline.limits import check_size, expected_dates, unmatched_paths
from modisoft.pipeline.schema import ConfigError, RunConfig
from modisoft.pipeline.sensors import sensor_order

__all__ = ["Inventory", "checked_inventory", "discover", "expected_dates"]


@dataclass
class Inventory:
    """The granules of a run, by date and tile.

    Attributes
    ----------
    by_date
        ``{start date: {tile id: Granule}}``.
    tiles
        The tiles the run expects (from the config, else every tile seen).
    expected
        The acquisition dates the run expects (the product's 8-day or 4-day calendar inside
        the date range).
    missing_tiles
        ``{date: [tile ids]}`` for dates present with some tiles absent.
    missing_dates
        Expected dates with no granule at all.
    duplicates
        ``(kept, ignored)`` paths where two files hold the same product, date and tile (the
        newest production time is kept).
    skipped
        Files under the inputs that are not granules of the product: ``(path, reason)``.
    failed
        Files that look like granules but whose name is damaged (an impossible date, bytes
        that are not UTF-8): ``(path, reason)``; the run records them as failed.
    notes
        Lines for the report about the run's setup (the snapped grid bounds).
    others
        A multi-sensor run's other granules of a date and tile (``by_date`` holds the one of
        the highest priority), in priority order: ``{(date, tile id): [Granule]}``.
    """

    by_date: dict[date, dict[str, Granule]] = field(default_factory=dict)
    tiles: list[str] = field(default_factory=list)
    expected: list[date] = field(default_factory=list)
    missing_tiles: dict[date, list[str]] = field(default_factory=dict)
    missing_dates: list[date] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    others: dict[tuple[date, str], list[Granule]] = field(default_factory=dict)

    @property
    def dates(self) -> list[date]:
        """The dates that have at least one granule, in order."""
        return sorted(self.by_date)

    @property
    def granules(self) -> list[Granule]:
        """Every granule, ordered by date then tile (then sensor priority)."""
        return [g for d in self.dates for t in sorted(self.by_date[d])
                for g in [self.by_date[d][t], *self.others.get((d, t), [])]]

    def restricted(self, keep: list[Granule]) -> Inventory:
        """This inventory with only the granules ``keep`` (the ones that could be read)."""
        import dataclasses

        paths = {str(g.path) for g in keep}
        by_date: dict[date, dict[str, Granule]] = {}
        others = {}
        for d in self.dates:
            for t, g in self.by_date[d].items():
                left = [x for x in [g, *self.others.get((d, t), [])] if str(x.path) in paths]
                if left:  # the best readable granule leads
                    by_date.setdefault(d, {})[t] = left[0]
                    others[(d, t)] = left[1:]
        return dataclasses.replace(self, by_date=by_date,
                                   others={k: v for k, v in others.items() if v})

    def report(self) -> str:
        """A short human summary: counts, missing tiles and dates, duplicates."""
        lines = [f"{len(self.granules)} granules: {len(self.dates)} dates x "
                 f"{len(self.tiles)} tiles ({', '.join(self.tiles)})", *self.notes]
        if self.missing_dates:
            lines.append(f"missing dates ({len(self.missing_dates)}): "
                         + ", ".join(d.isoformat() for d in self.missing_dates))
        for d, tiles in sorted(self.missing_tiles.items()):
            lines.append(f"missing tiles on {d.isoformat()}: {', '.join(tiles)}")
        for path, reason in self.failed:
            lines.append(f"not a usable granule: {path}: {reason}")
        by_reason: dict[str, list[str]] = {}
        for path, reason in self.skipped:
            by_reason.setdefault(reason, []).append(os.path.basename(path))
        for reason, names in sorted(by_reason.items()):
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            lines.append(f"skipped {len(names)} file(s) ({reason}): "
                         f"{', '.join(names[:5])}{more}")
        for kept, ignored in self.duplicates:
            lines.append(f"duplicate: using {os.path.basename(kept)}, ignoring "
                         f"{os.path.basename(ignored)}")
        return "\n".join(lines)


def _files(cfg: RunConfig, rejected: list[tuple[str, str]]) -> list[Path]:
    unmatched_paths(cfg, "[inputs] paths", cfg.inputs.paths)
    return find_files(cfg.inputs.paths, suffixes=GRANULE_SUFFIXES, base=cfg.base_dir,
                      rejected=rejected)[0]


def _date_range(cfg: RunConfig, seen: list[date]) -> tuple[date, date] | None:
    i = cfg.inputs
    if i.years:
        return date(min(i.years), 1, 1), date(max(i.years), 12, 31)
    if i.start or i.end:
        lo = i.start or (min(seen) if seen else date(1970, 1, 1))
        hi = i.end or (max(seen) if seen else date(2100, 1, 1))
        return lo, hi
    return None


def discover(cfg: RunConfig, failed: list[tuple[str, str]] | None = None) -> Inventory:
    """List and group the run's granules from their file names (no file is opened).

    Parameters
    ----------
    cfg
        The run configuration (``[inputs]``: paths, product, years or start/end, tiles).
    failed
        Inputs that already failed before the inventory (downloads): ``(path, reason)``.

    Returns
    -------
    Inventory

    Raises
    ------
    ConfigError
        When a path pattern matches nothing, or no granule of the product is found.
    """
    inv = Inventory(failed=list(failed or []))
    order = sensor_order(cfg)
    product = order[0]
    found: dict[tuple[date, str, str], Granule] = {}
    for path in _files(cfg, inv.failed):
        try:
            g: Granule = parse_filename(path)
        except GranuleReadError as exc:  # a granule's name, damaged (an impossible date)
            inv.failed.append((exc.path, exc.reason))
            continue
        if g.product is None:
            inv.skipped.append((str(path), "not a standard granule name"))
            continue
        if g.product not in order:
            inv.skipped.append((str(path), f"product {g.product}, not {' or '.join(order)}"))
            continue
        if g.tile is None or g.start_date is None:
            inv.skipped.append((str(path), "no tile or date in the name"))
            continue
        key = (g.start_date, g.tile_id or "", g.product)
        if key in found:
            old = found[key]
            new_wins = (g.production_time or 0, g.path) > (old.production_time or 0, old.path) \
                if g.production_time and old.production_time else g.path > old.path
            kept, ignored = (g, old) if new_wins else (old, g)
            found[key] = kept
            inv.duplicates.append((kept.path, ignored.path))
        else:
            found[key] = g
    rng = _date_range(cfg, [d for d, _, _ in found])
    wanted_tiles = set(cfg.inputs.tiles)
    for (d, tile, _prod), g in sorted(found.items(), key=lambda kv: (
            kv[0][:2], order.index(kv[0][2]))):
        if rng and not rng[0] <= d <= rng[1]:
            continue
        if wanted_tiles and tile not in wanted_tiles:
            continue
        if tile in inv.by_date.get(d, {}):
            inv.others.setdefault((d, tile), []).append(g)
        else:
            inv.by_date.setdefault(d, {})[tile] = g
    if not inv.by_date:
        raise ConfigError(f"[inputs] no {' or '.join(order)} granule found under "
                          f"{', '.join(cfg.inputs.paths)}"
                          + (f" between {rng[0]} and {rng[1]}" if rng else ""))
    seen_tiles = sorted({t for per in inv.by_date.values() for t in per})
    inv.tiles = sorted(wanted_tiles) if wanted_tiles else seen_tiles
    lo, hi = rng if rng else (min(inv.by_date), max(inv.by_date))
    inv.expected = expected_dates(product, lo, hi)
    inv.missing_dates = [d for d in inv.expected if d not in inv.by_date]
    missing: dict[date, list[str]] = defaultdict(list)
    for d, per in inv.by_date.items():
        for t in inv.tiles:
            if t not in per:
                missing[d].append(t)
    inv.missing_tiles = dict(missing)
    return inv


def checked_inventory(cfg: RunConfig, grid: Any, over: dict[str, Any],
                      failed: list[tuple[str, str]] | None = None) -> Inventory:
    """:func:`discover`, then the checks that need the dates found: the run's size against
    the limits and the machine (``over``: the compute overrides) and ``min_obs``."""
    from modisoft.pipeline.validate import check_min_obs

    inv = discover(cfg, failed)
    g = cfg.grid
    if g.bounds is not None and g.snap and tuple(grid.bounds) != tuple(map(float, g.bounds)):
        inv.notes.append(f"grid: bounds {list(g.bounds)} snapped outwards to the "
                         f"{g.resolution:g} lattice: {[float(b) for b in grid.bounds]}")
    check_size(cfg, grid, inv.dates, machine=True, **over)
    check_min_obs(cfg, len(inv.dates))
    return inv


def describe_inventory(inv: Inventory) -> dict[str, Any]:
    """The inventory as JSON-able data for the run summary and the provenance."""
    return {
        "granules": len(inv.granules),
        "dates": [d.isoformat() for d in inv.dates],
        "tiles": inv.tiles,
        "missing_dates": [d.isoformat() for d in inv.missing_dates],
        "missing_tiles": {d.isoformat(): t for d, t in sorted(inv.missing_tiles.items())},
        "duplicates": [list(p) for p in inv.duplicates],
    }
