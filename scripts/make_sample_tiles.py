"""Write the demo's cropped real granules into ``sample_tiles/`` from ``../shared/sample-data/``.

The demo mosaics MCD15A2 tiles h17v03 and h18v03 (2012, the 16 dates both tiles have). Whole
tiles would be ~35 MB, so each granule is cut to a window of real pixels on both sides of the
tile edge x = 0 m (eastern England | the Low Countries): rows 600–899 and the 300 columns next
to the edge. The pixels, the SDS attributes and the Core/Archive metadata are copied
unchanged; only ``StructMetadata.0`` gets the window's ``XDim``/``YDim`` and corner
coordinates, so a reader georeferences the window exactly where it lies in the tile. A global
attribute ``modisoft_subset`` says what was done.

Run from the repository root: ``python scripts/make_sample_tiles.py`` (idempotent).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pyhdf.V  # noqa: F401  (registers the vgroup interface used by HDF.vgstart)
from pyhdf.HDF import HC, HDF
from pyhdf.SD import SD, SDC

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared" / "sample-data"
DST = ROOT / "sample_tiles"
ROWS = (600, 900)
WIDTH = 300
LAYERS = ("Lai_1km", "FparLai_QC")
TILE = 2 * np.pi * 6371007.181 / 36
PIXEL = TILE / 1200


def window(tile: str) -> tuple[int, int]:
    """The column range kept: the eastern edge of h17v03, the western edge of h18v03."""
    return (1200 - WIDTH, 1200) if tile == "h17v03" else (0, WIDTH)


def crop(src: Path, dst: Path) -> None:
    tile = src.name.split(".")[2]
    c0, c1 = window(tile)
    r0, r1 = ROWS
    sd = SD(str(src))
    attrs = sd.attributes()
    struct = attrs["StructMetadata.0"]
    ul = re.search(r"UpperLeftPointMtrs=\(([-\d.]+),([-\d.]+)\)", struct)
    left, top = float(ul[1]), float(ul[2])
    new_ul = (left + c0 * PIXEL, top - r0 * PIXEL)
    new_lr = (left + c1 * PIXEL, top - r1 * PIXEL)
    struct = re.sub(r"UpperLeftPointMtrs=\([^)]*\)",
                    f"UpperLeftPointMtrs=({new_ul[0]:.6f},{new_ul[1]:.6f})", struct)
    struct = re.sub(r"LowerRightMtrs=\([^)]*\)",
                    f"LowerRightMtrs=({new_lr[0]:.6f},{new_lr[1]:.6f})", struct)
    struct = struct.replace("XDim=1200", f"XDim={c1 - c0}").replace("YDim=1200",
                                                                      f"YDim={r1 - r0}")
    struct = re.sub(r'(DimensionName="XDim"\s+Size=)1200', rf"\g<1>{c1 - c0}", struct)
    struct = re.sub(r'(DimensionName="YDim"\s+Size=)1200', rf"\g<1>{r1 - r0}", struct)
    struct = _keep_fields(struct, LAYERS)
    tmp = dst.with_suffix(".tmp")
    out = SD(str(tmp), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    for key, value in attrs.items():
        out.attr(key).set(SDC.CHAR8, struct if key == "StructMetadata.0" else value) \
            if isinstance(value, str) else None
    refs = []
    out.attr("modisoft_subset").set(
        SDC.CHAR8, f"demo subset of {src.name}: rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1} of "
        "the tile, pixels unchanged (scripts/make_sample_tiles.py)")
    for name in LAYERS:
        s = sd.select(name)
        data = s[r0:r1, c0:c1]
        dims = list(s.dimensions())
        o = out.create(name, SDC.UINT8, data.shape)
        for i, d in enumerate(dims):
            o.dim(i).setname(d)
        o.setcompress(SDC.COMP_DEFLATE, 6)
        o[:] = data
        for key, value in s.attributes().items():
            if isinstance(value, str):
                o.attr(key).set(SDC.CHAR8, value)
            elif isinstance(value, list):
                o.attr(key).set(SDC.UINT8 if key in ("valid_range",) else SDC.FLOAT64, value)
            elif isinstance(value, float):
                o.attr(key).set(SDC.FLOAT64, value)
            elif key == "_FillValue":
                o.attr(key).set(SDC.UINT8, value)
            else:
                o.attr(key).set(SDC.INT32, value)
        refs.append(o.ref())
        o.endaccess()
        s.endaccess()
    out.end()
    sd.end()
    _grid_vgroups(tmp, "MOD_Grid_MOD15A2", refs)
    tmp.replace(dst)


def _keep_fields(struct: str, keep: tuple[str, ...]) -> str:
    """Drop the DataField objects of layers not copied, renumbering the rest."""
    blocks = re.findall(r"\t+OBJECT=DataField_\d+\n.*?END_OBJECT=DataField_\d+\n", struct,
                        flags=re.S)
    kept = [b for b in blocks if any(f'DataFieldName="{k}"' in b for k in keep)]
    body = "".join(re.sub(r"DataField_\d+", f"DataField_{i + 1}", b)
                   for i, b in enumerate(kept))
    start = struct.index(blocks[0])
    end = struct.index(blocks[-1]) + len(blocks[-1])
    return struct[:start] + body + struct[end:]


def _grid_vgroups(path: Path, grid: str, sds_refs: list[int]) -> None:
    """The HDF-EOS grid vgroups (grid → "Data Fields" → SDSs) that GDAL's HDF-EOS driver
    looks for."""
    f = HDF(str(path), HC.WRITE)
    v = f.vgstart()
    top = v.create(grid)
    top._class = "GRID"
    fields = v.create("Data Fields")
    fields._class = "GRID Vgroup"
    attrs = v.create("Grid Attributes")
    attrs._class = "GRID Vgroup"
    for ref in sds_refs:
        fields.add(HC.DFTAG_NDG, ref)
    top.insert(fields)
    top.insert(attrs)
    for g in (attrs, fields, top):
        g.detach()
    v.end()
    f.close()


def main() -> None:
    h18 = sorted(SRC.glob("MCD15A2.A2012*.h18v03.005.*.hdf"))
    dates = {p.name.split(".")[1] for p in h18}
    files = [p for p in sorted(SRC.glob("MCD15A2.A2012*.h1[78]v03.005.*.hdf"))
             if p.name.split(".")[1] in dates]
    DST.mkdir(exist_ok=True)
    for f in files:
        dst = DST / f.name
        if dst.exists() and dst.stat().st_size < f.stat().st_size and "--force" not in sys.argv:
            continue
        dst.unlink(missing_ok=True)
        crop(f, dst)
    total = sum((DST / f.name).stat().st_size for f in files)
    print(f"{len(files)} cropped granules in {DST} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
