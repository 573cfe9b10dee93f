"""A synthetic China year of MCD15A2H-like 500 m tiles, made by re-labelling real granules.

**These files are synthetic.**  Their pixels are real MCD15A2 (Collection 5, 1 km) values of
tile h17v03 (western Europe, 2012, the 46 sample granules in ``../shared/sample-data``), but
their georeferencing and identity are those of the MODIS tiles of China: every file says it is
``MCD15A2H`` collection 006, tile ``hHHvVV`` of the ``china22`` preset
(:data:`modisoft.grids.CHINA_TILE_PRESETS`, ``reference/GRIDS.md`` §2), at 500 m.  They exist
to measure the national pipeline at China scale (issue 8, ``benchmarks/china_year.py``) and
must never be mistaken for data about China: each file carries a ``SYNTHETIC_NOTE`` global
attribute saying so, a ``SYNTHETIC_SOURCE`` naming the real source granule, a
``SYNTHETIC_TRANSFORM`` describing the pixel shuffle below, and its ``CoreMetadata.0``
``INPUTPOINTER`` names the source granule.

How a file is made (the source date with the same day of year gives the pixels):

1. each of the six source layers (``Fpar_1km``, ``Lai_1km``, ``FparLai_QC``, ``FparExtra_QC``,
   ``FparStdDev_1km``, ``LaiStdDev_1km``; 1200 x 1200 uint8) is made tile-dependent so that
   the 22 tiles differ: rows are flipped when ``v`` is odd, columns when ``h`` is odd, then the
   array is rolled (``numpy.roll``) by ``(131·h + 61·v) mod 1200`` rows and
   ``(47·h + 173·v) mod 1200`` columns;
2. it is upsampled 2x by pixel replication to 2400 x 2400 and written under the 500 m name
   (``Lai_1km`` -> ``Lai_500m``; the QC layers keep their names) with the source's SDS
   attributes (``scale_factor``, ``valid_range``, ``_FillValue``, legends), HDF4 deflate in
   chunks of 100 x 1200 (level 4; layout and level as in the real MCD15A2H granules);
3. ``StructMetadata.0`` declares grid ``MOD_Grid_MOD15A2H`` (2400 x 2400, ``GCTP_SNSOID``,
   sphere R = 6371007.181 m) with the tile's outer corners from the tiling formula
   ``ULx = X0 + h·T``, ``ULy = Y0 − v·T`` (exact T = 2πR/36, ``reference/GRIDS.md`` §1.3);
   ``CoreMetadata.0`` gives ``SHORTNAME`` MCD15A2H, ``VERSIONID`` 6, ``LOCALGRANULEID`` equal
   to the file name, range dates (the 8-day period, cut at 31 December), the source's
   production time and ``HORIZONTALTILENUMBER``/``VERTICALTILENUMBER``.

File names follow the standard pattern ``MCD15A2H.A2012DDD.hHHvVV.006.<YYYYDDDHHMMSS>.hdf``
(the 13-digit production time is the source granule's).  Files are written to a temporary
name and renamed, so an interrupted run never leaves a file that a rerun would skip; a rerun
skips every file that exists and is instant.

Usage::

    python benchmarks/china_synth.py [--out DIR] [--tiles N] [--dates N] [--workers N]

Default ``--out`` is ``~/.cache/modisoft/china_synth/``.  It prints the generation time and
the disk size of the set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modisoft.grids import CHINA_TILE_PRESETS, MODIS_TILE_SIZE, MODIS_X0, MODIS_Y0

__all__ = [
    "DEFAULT_CACHE",
    "LAYERS",
    "SAMPLE_DIR",
    "SYNTH_NOTE",
    "SourceGranule",
    "SynthFile",
    "SynthResult",
    "core_metadata",
    "find_sources",
    "generate",
    "plan",
    "struct_metadata",
    "synthesize_layer",
    "tile_shuffle",
    "write_synth_file",
]

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"
"""The real sample granules (``../shared/sample-data`` beside the repository)."""
DEFAULT_CACHE = Path("~/.cache/modisoft/china_synth_chunked").expanduser()
"""Versioned by layout: the files of ``china_synth/`` (before 2026-12) were deflated in one
piece, which no real MCD15A2H granule is."""
SOURCE_GLOB = "MCD15A2.A2012*.h17v03.005.*.hdf"
PRODUCT, COLLECTION, GRID_NAME = "MCD15A2H", "006", "MOD_Grid_MOD15A2H"
SRC_SIZE, FACTOR = 1200, 2
SIZE = SRC_SIZE * FACTOR
DEFLATE_LEVEL = 4
CHUNK = (100, 1200)
"""Rows x columns of every SDS chunk, each deflated on its own: the layout of the real
MCD15A2H 500 m granules (``deflate_layout`` of the sample MCD15A2H/MCD15A3H files), so that a
reader inflates only the chunks of the rows it needs, as it would on the real archive."""
LAYERS: dict[str, str] = {
    "Fpar_1km": "Fpar_500m",
    "Lai_1km": "Lai_500m",
    "FparLai_QC": "FparLai_QC",
    "FparExtra_QC": "FparExtra_QC",
    "FparStdDev_1km": "FparStdDev_500m",
    "LaiStdDev_1km": "LaiStdDev_500m",
}
"""Source layer (1 km MCD15A2) -> synthetic layer (500 m MCD15A2H), in file order."""
SYNTH_NOTE = (
    "SYNTHETIC FILE for benchmarking modisoft (benchmarks/china_synth.py): real MCD15A2 C5 "
    "1 km pixels of tile h17v03 (2012) flipped/rolled per tile, upsampled 2x by pixel "
    "replication and relabelled with the StructMetadata and CoreMetadata of a China MODIS "
    "tile. Not data about the labelled tile."
)
_NAME_RE = re.compile(r"^MCD15A2\.A(\d{4})(\d{3})\.h17v03\.005\.(\d{13})\.hdf$")


@dataclass(frozen=True)
class SourceGranule:
    """A real source granule: path, acquisition date (period start), production time."""

    path: Path
    date: dt.date
    production: str  # the 13-digit YYYYDDDHHMMSS of the file name


@dataclass(frozen=True)
class SynthFile:
    """One synthetic file to make: tile, source granule and output file name."""

    tile: tuple[int, int]
    source: SourceGranule
    collection: str = COLLECTION

    @property
    def name(self) -> str:
        """``MCD15A2H.A2012DDD.hHHvVV.006.<production>.hdf`` (or another collection)."""
        h, v = self.tile
        d = self.source.date
        return (
            f"{PRODUCT}.A{d.year}{d.timetuple().tm_yday:03d}.h{h:02d}v{v:02d}."
            f"{self.collection}.{self.source.production}.hdf"
        )


@dataclass
class SynthResult:
    """What :func:`generate` did: every path (in tile-major order) and the cost."""

    paths: list[Path] = field(default_factory=list)
    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    bytes: int = 0

    def summary(self) -> str:
        """One line: counts, time and disk size."""
        return (
            f"{len(self.paths)} files ({self.written} written, {self.skipped} already there) "
            f"in {self.seconds:.1f} s; {self.bytes / 2**30:.2f} GiB on disk"
        )


def find_sources(source_dir: os.PathLike[str] | None = None) -> list[SourceGranule]:
    """The real MCD15A2 h17v03 granules of 2012, sorted by date.

    Raises
    ------
    FileNotFoundError
        If the folder holds none.
    """
    folder = Path(source_dir) if source_dir is not None else SAMPLE_DIR
    out = []
    for p in sorted(folder.glob(SOURCE_GLOB)):
        m = _NAME_RE.match(p.name)
        if m:
            year, doy, prod = int(m.group(1)), int(m.group(2)), m.group(3)
            date = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
            out.append(SourceGranule(p, date, prod))
    if not out:
        raise FileNotFoundError(f"no source granules {SOURCE_GLOB} in {folder}")
    return out


def tile_shuffle(h: int, v: int) -> dict[str, int]:
    """The per-tile flips and rolls (in 1 km source pixels) that make tiles differ."""
    return {
        "flip_rows": int(v % 2 == 1),
        "flip_cols": int(h % 2 == 1),
        "roll_rows": (131 * h + 61 * v) % SRC_SIZE,
        "roll_cols": (47 * h + 173 * v) % SRC_SIZE,
        "replicate": FACTOR,
    }


def synthesize_layer(src: np.ndarray, h: int, v: int) -> np.ndarray:
    """Kernel: a 1200 x 1200 source layer -> the 2400 x 2400 layer of tile ``(h, v)``."""
    s = tile_shuffle(h, v)
    a = src[::-1] if s["flip_rows"] else src
    a = a[:, ::-1] if s["flip_cols"] else a
    a = np.roll(a, (s["roll_rows"], s["roll_cols"]), axis=(0, 1))
    return np.repeat(np.repeat(a, FACTOR, axis=0), FACTOR, axis=1)


def plan(
    tiles: int | Sequence[tuple[int, int]] | None = None,
    dates: int | None = None,
    *,
    preset: str = "china22",
    source_dir: os.PathLike[str] | None = None,
    collection: str = COLLECTION,
) -> list[SynthFile]:
    """The files of a synthetic set, tile-major: the first ``tiles`` tiles of the preset (or
    the given ``(h, v)`` list) times the first ``dates`` source dates, labelled as
    ``collection``."""
    all_tiles = list(CHINA_TILE_PRESETS[preset])
    chosen = (
        all_tiles
        if tiles is None
        else all_tiles[:tiles]
        if isinstance(tiles, int)
        else [tuple(t) for t in tiles]
    )
    sources = find_sources(source_dir)
    if dates is not None:
        sources = sources[:dates]
    return [SynthFile((int(h), int(v)), s, collection) for h, v in chosen for s in sources]


def _corners(h: int, v: int) -> tuple[tuple[float, float], tuple[float, float]]:
    ulx, uly = MODIS_X0 + h * MODIS_TILE_SIZE, MODIS_Y0 - v * MODIS_TILE_SIZE
    return (ulx, uly), (ulx + MODIS_TILE_SIZE, uly - MODIS_TILE_SIZE)


def struct_metadata(h: int, v: int) -> str:
    """``StructMetadata.0`` of a 500 m MCD15A2H tile, laid out as in the real granules."""
    (ulx, uly), (lrx, lry) = _corners(h, v)
    fields = []
    for i, name in enumerate(LAYERS.values(), 1):
        fields += [
            f"\t\t\tOBJECT=DataField_{i}",
            f'\t\t\t\tDataFieldName="{name}"',
            "\t\t\t\tDataType=DFNT_UINT8",
            '\t\t\t\tDimList=("YDim","XDim")',
            f"\t\t\tEND_OBJECT=DataField_{i}",
        ]
    lines = [
        "GROUP=SwathStructure",
        "END_GROUP=SwathStructure",
        "GROUP=GridStructure",
        "\tGROUP=GRID_1",
        f'\t\tGridName="{GRID_NAME}"',
        f"\t\tXDim={SIZE}",
        f"\t\tYDim={SIZE}",
        f"\t\tUpperLeftPointMtrs=({ulx:.6f},{uly:.6f})",
        f"\t\tLowerRightMtrs=({lrx:.6f},{lry:.6f})",
        "\t\tProjection=GCTP_SNSOID",
        "\t\tProjParams=(6371007.181000,0,0,0,0,0,0,0,0,0,0,0,0)",
        "\t\tSphereCode=-1",
        "\t\tPixelRegistration=HDFE_CENTER",
        "\t\tGROUP=Dimension",
        "\t\t\tOBJECT=Dimension_1",
        '\t\t\t\tDimensionName="YDim"',
        f"\t\t\t\tSize={SIZE}",
        "\t\t\tEND_OBJECT=Dimension_1",
        "\t\t\tOBJECT=Dimension_2",
        '\t\t\t\tDimensionName="XDim"',
        f"\t\t\t\tSize={SIZE}",
        "\t\t\tEND_OBJECT=Dimension_2",
        "\t\tEND_GROUP=Dimension",
        "\t\tGROUP=DataField",
        *fields,
        "\t\tEND_GROUP=DataField",
        "\t\tGROUP=MergedFields",
        "\t\tEND_GROUP=MergedFields",
        "\tEND_GROUP=GRID_1",
        "END_GROUP=GridStructure",
        "GROUP=PointStructure",
        "END_GROUP=PointStructure",
        "END",
    ]
    return "\n".join(lines) + "\n"


def _odl_object(name: str, value: str, indent: str, cls: str | None = None) -> list[str]:
    out = [f"{indent}OBJECT                 = {name}"]
    if cls is not None:
        out.append(f'{indent}  CLASS                = "{cls}"')
    out += [
        f"{indent}  NUM_VAL              = 1",
        f"{indent}  VALUE                = {value}",
        f"{indent}END_OBJECT             = {name}",
    ]
    return out


def _additional_attribute(k: int, name: str, value: str) -> list[str]:
    i = "    "
    return [
        f"{i}OBJECT                 = ADDITIONALATTRIBUTESCONTAINER",
        f'{i}  CLASS                = "{k}"',
        *_odl_object("ADDITIONALATTRIBUTENAME", f'"{name}"', i + "  ", str(k)),
        f"{i}  GROUP                  = INFORMATIONCONTENT",
        f'{i}    CLASS                = "{k}"',
        *_odl_object("PARAMETERVALUE", f'"{value}"', i + "    ", str(k)),
        f"{i}  END_GROUP              = INFORMATIONCONTENT",
        f"{i}END_OBJECT             = ADDITIONALATTRIBUTESCONTAINER",
    ]


def core_metadata(item: SynthFile) -> str:
    """``CoreMetadata.0`` (ECS inventory, ODL) consistent with the file name."""
    h, v = item.tile
    begin = item.source.date
    end = min(begin + dt.timedelta(days=7), dt.date(begin.year, 12, 31))
    produced = dt.datetime.strptime(item.source.production, "%Y%j%H%M%S")
    i2, i4 = "  ", "    "
    lines = [
        "GROUP                  = INVENTORYMETADATA",
        "  GROUPTYPE            = MASTERGROUP",
        f"{i2}GROUP                  = ECSDATAGRANULE",
        *_odl_object("LOCALGRANULEID", f'"{item.name}"', i4),
        *_odl_object("PRODUCTIONDATETIME", f'"{produced:%Y-%m-%dT%H:%M:%S}.000Z"', i4),
        *_odl_object("DAYNIGHTFLAG", '"Day"', i4),
        f"{i2}END_GROUP              = ECSDATAGRANULE",
        f"{i2}GROUP                  = COLLECTIONDESCRIPTIONCLASS",
        *_odl_object("VERSIONID", str(int(item.collection)), i4),
        *_odl_object("SHORTNAME", f'"{PRODUCT}"', i4),
        f"{i2}END_GROUP              = COLLECTIONDESCRIPTIONCLASS",
        f"{i2}GROUP                  = INPUTGRANULE",
        *_odl_object("INPUTPOINTER", f'("{item.source.path.name}")', i4),
        f"{i2}END_GROUP              = INPUTGRANULE",
        f"{i2}GROUP                  = RANGEDATETIME",
        *_odl_object("RANGEBEGINNINGTIME", '"00:00:00"', i4),
        *_odl_object("RANGEENDINGTIME", '"23:59:59"', i4),
        *_odl_object("RANGEBEGINNINGDATE", f'"{begin:%Y-%m-%d}"', i4),
        *_odl_object("RANGEENDINGDATE", f'"{end:%Y-%m-%d}"', i4),
        f"{i2}END_GROUP              = RANGEDATETIME",
        f"{i2}GROUP                  = ADDITIONALATTRIBUTES",
        *_additional_attribute(1, "HORIZONTALTILENUMBER", f"{h:02d}"),
        *_additional_attribute(2, "VERTICALTILENUMBER", f"{v:02d}"),
        *_additional_attribute(3, "SYNTHETIC", "relabelled real pixels; see SYNTHETIC_NOTE"),
        f"{i2}END_GROUP              = ADDITIONALATTRIBUTES",
        "END_GROUP              = INVENTORYMETADATA",
        "END",
    ]
    return "\n".join(lines) + "\n"


def _relabel(val):
    """A source attribute relabelled for 500 m (``1KM`` -> ``500M``, product name)."""
    if isinstance(val, str):
        return val.replace("MCD15A2 ", f"{PRODUCT} ").replace("1KM", "500M")
    return val


def write_synth_file(item: SynthFile, out_dir: os.PathLike[str]) -> tuple[Path, bool]:
    """Write one synthetic file (atomically); skip it when it exists.

    Returns the path and whether it was written.
    """
    from pyhdf.SD import SD, SDC

    out = Path(out_dir) / item.name
    if out.exists():
        return out, False
    h, v = item.tile
    tmp = out.with_name(f".{item.name}.{os.getpid()}.tmp")
    src = SD(str(item.source.path), SDC.READ)
    dst = SD(str(tmp), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    try:
        gattrs = src.attributes()
        dst.attr("HDFEOSVersion").set(SDC.CHAR8, gattrs.get("HDFEOSVersion", "HDFEOS_V2.9"))
        dst.attr("StructMetadata.0").set(SDC.CHAR8, struct_metadata(h, v))
        dst.attr("CoreMetadata.0").set(SDC.CHAR8, core_metadata(item))
        for key in ("MOD15A2_FILLVALUE_DOC", "MOD15A2_FparLai_QC_DOC", "MOD15A2_FparExtra_QC_DOC"):
            if key in gattrs:
                dst.attr(key).set(SDC.CHAR8, gattrs[key])
        dst.attr("SYNTHETIC_NOTE").set(SDC.CHAR8, SYNTH_NOTE)
        dst.attr("SYNTHETIC_SOURCE").set(SDC.CHAR8, item.source.path.name)
        shuffle = " ".join(f"{k}={val}" for k, val in tile_shuffle(h, v).items())
        dst.attr("SYNTHETIC_TRANSFORM").set(SDC.CHAR8, shuffle)
        for src_name, dst_name in LAYERS.items():
            s = src.select(src_name)
            data = synthesize_layer(s.get(), h, v)
            d = dst.create(dst_name, SDC.UINT8, data.shape)
            for ax, dim in enumerate(("YDim", "XDim")):
                d.dim(ax).setname(f"{dim}:{GRID_NAME}")
            for key, (val, _, hdf_type, _) in s.attributes(full=1).items():
                d.attr(key).set(hdf_type, _relabel(val))
            _set_chunked_deflate(d, CHUNK, DEFLATE_LEVEL)
            d[:] = data
            d.endaccess()
            s.endaccess()
    except BaseException:
        dst.end()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.end()
    dst.end()
    _add_grid_vgroups(tmp)
    os.replace(tmp, out)
    return out, True


def _set_chunked_deflate(sds: object, chunk: tuple[int, int], level: int) -> None:
    """``SDsetchunk(sds, {chunk lengths, COMP_CODE_DEFLATE, level}, HDF_CHUNK | HDF_COMP)``
    through ctypes (pyhdf has no chunking call); before any data is written."""
    import ctypes

    from pyhdf import _hdfext

    class ChunkDef(ctypes.Structure):  # HDF_CHUNK_DEF's "comp" member (hdf.h), padded
        _fields_ = [("lengths", ctypes.c_int32 * 32), ("comp_type", ctypes.c_int32),
                    ("model_type", ctypes.c_int32), ("cinfo", ctypes.c_int32 * 16),
                    ("minfo", ctypes.c_int32 * 16)]

    lib = ctypes.CDLL(_hdfext.__file__)
    lib.SDsetchunk.restype = ctypes.c_int
    lib.SDsetchunk.argtypes = [ctypes.c_int32, ChunkDef, ctypes.c_int32]
    cdef = ChunkDef()
    cdef.lengths[0], cdef.lengths[1] = chunk
    cdef.comp_type, cdef.cinfo[0] = 4, level  # COMP_CODE_DEFLATE, comp_info.deflate.level
    if lib.SDsetchunk(sds._id, cdef, 0x1 | 0x2) < 0:  # HDF_CHUNK | HDF_COMP
        raise OSError("SDsetchunk failed")


def _add_grid_vgroups(path: Path) -> None:
    """Add the HDF-EOS2 grid Vgroups (grid -> "Data Fields", "Grid Attributes") that the
    HDF-EOS library, hence GDAL's ``HDF4_EOS`` driver, needs besides ``StructMetadata.0``."""
    import pyhdf.V  # noqa: F401  (registers HDF.vgstart)
    from pyhdf.HDF import HC, HDF
    from pyhdf.SD import SD, SDC

    hdf = HDF(str(path), HC.WRITE)
    vg = hdf.vgstart()
    sd = SD(str(path), SDC.WRITE)
    try:
        grid = vg.create(GRID_NAME)
        grid._class = "GRID"
        fields = vg.create("Data Fields")
        fields._class = "GRID Vgroup"
        gattrs = vg.create("Grid Attributes")
        gattrs._class = "GRID Vgroup"
        for name in LAYERS.values():
            sds = sd.select(name)
            fields.add(HC.DFTAG_NDG, sds.ref())
            sds.endaccess()
        grid.insert(fields)
        grid.insert(gattrs)
        for g in (fields, gattrs, grid):
            g.detach()
    finally:
        vg.end()
        sd.end()
        hdf.close()


def _write_one(args: tuple[SynthFile, str]) -> tuple[str, bool]:
    path, written = write_synth_file(*args)
    return str(path), written


def generate(
    out_dir: os.PathLike[str] | None = None,
    *,
    tiles: int | Sequence[tuple[int, int]] | None = None,
    dates: int | None = None,
    preset: str = "china22",
    source_dir: os.PathLike[str] | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    collection: str = COLLECTION,
) -> SynthResult:
    """Make (or find cached) the synthetic China set.

    Parameters
    ----------
    out_dir
        Cache folder (created); default ``~/.cache/modisoft/china_synth``.
    tiles
        The first N tiles of ``preset`` (11 and 22 for the doubling test), or explicit
        ``(h, v)`` tiles; all 22 by default.
    dates
        The first N of the 46 dates of 2012; all by default.
    preset
        A key of :data:`modisoft.grids.CHINA_TILE_PRESETS`.
    source_dir
        Folder of the real ``MCD15A2.A2012*.h17v03`` granules (default ``../shared/sample-data``).
    workers
        Processes writing in parallel (1: in this process).
    progress
        Called with ``(done, total)`` after each file.
    collection
        The collection the files are labelled as (``"006"``; ``"061"`` for the archive
        stand-in of ``tests/acquire``).

    Returns
    -------
    SynthResult
        Paths in tile-major order, counts written/skipped, seconds and bytes on disk.

    Examples
    --------
    >>> res = generate("/tmp/china", tiles=11, dates=46)  # doctest: +SKIP
    >>> print(res.summary())  # doctest: +SKIP
    """
    out = Path(out_dir).expanduser() if out_dir is not None else DEFAULT_CACHE
    out.mkdir(parents=True, exist_ok=True)
    items = plan(tiles, dates, preset=preset, source_dir=source_dir, collection=collection)
    res = SynthResult()
    t0 = time.perf_counter()
    jobs = [(it, str(out)) for it in items]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = pool.map(_write_one, jobs, chunksize=4)
            done = _collect(results, res, len(jobs), progress)
    else:
        done = _collect(map(_write_one, jobs), res, len(jobs), progress)
    res.paths = done
    res.seconds = time.perf_counter() - t0
    res.bytes = sum(p.stat().st_size for p in res.paths)
    return res


def _collect(results, res: SynthResult, total: int, progress) -> list[Path]:
    paths = []
    for i, (path, written) in enumerate(results, 1):
        paths.append(Path(path))
        res.written += written
        res.skipped += not written
        if progress is not None:
            progress(i, total)
    return paths


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_CACHE), help="cache folder (default %(default)s)")
    ap.add_argument("--tiles", type=int, default=None, help="first N tiles of the preset")
    ap.add_argument("--dates", type=int, default=None, help="first N dates of 2012 (max 46)")
    ap.add_argument("--preset", default="china22", choices=sorted(CHINA_TILE_PRESETS))
    ap.add_argument("--source-dir", default=str(SAMPLE_DIR), help="the real h17v03 granules")
    ap.add_argument("--workers", type=int, default=1, help="writer processes (default 1)")
    args = ap.parse_args(argv)

    def report(done: int, total: int) -> None:
        if done == total or done % 20 == 0:
            print(f"\r  {done}/{total} files", end="\n" if done == total else "", flush=True)

    res = generate(
        args.out,
        tiles=args.tiles,
        dates=args.dates,
        preset=args.preset,
        source_dir=args.source_dir,
        workers=args.workers,
        progress=report,
    )
    n_tiles = len({p.name.split(".")[2] for p in res.paths})
    n_dates = len({p.name.split(".")[1] for p in res.paths})
    print(f"synthetic China set ({n_tiles} tiles x {n_dates} dates, SYNTHETIC) in {args.out}")
    print(f"  {res.summary()}")
    if res.written:
        print(f"  {res.seconds / res.written:.3f} s per written file")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
