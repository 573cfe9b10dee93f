"""The bad-input corpus: damaged granules and input folders built from the real sample data.

Every case is **synthetic-from-real**: it starts from real files (the cropped real MCD15A2
granules of ``sample_tiles/`` and the untouched granules of ``../shared/sample-data``) and
damages a copy in a known, seeded way (truncation, zeroed or flipped compressed blocks,
edited HDF-EOS metadata, bad names, odd folders). Nothing here is random at run time: the
bytes of every case are the same on every machine (seeds come from the case names).

A case builds one small input folder for a national run, laid out as

* three good granules (real, cropped): 2012-001 h17v03 and h18v03, 2012-009 h18v03;
* in the fourth slot (2012-009 h17v03) the damaged input (or, for folder-level cases, what the
  case is about: a duplicate, a loop, a missing tile, ...).

``target`` is the file the case is about: what :func:`modisoft.open_granule` is tried on.

Expected outcome categories (``Case.category``):

``"error"``
    ``open_granule(target)`` (and reading its layers) must raise a ``ModisoftError`` subclass
    whose message names the file; a run over the folder records it and continues (exit 3).
``"recorded"``
    the file itself may open (the problem is its identity, its place in the batch, or its
    name), but a run must not use it silently: it is recorded as failed in the manifest's
    ``failures``, the other outputs are produced, exit code 3.
``"ok"``
    legitimately fine (a duplicate skipped with a note, a missing tile reported, an odd but
    valid folder name): it opens and a run exits 0, with the note when one is expected.

``Case.opens`` and ``Case.run`` say what the two corpus tests expect from ``open_granule`` and
from the run; by default they follow the category.

Use::

    from corpus import CASES, make_case
    built = make_case(CASES[0], tmp_path)   # -> Built(folder, target, ...)
"""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import SAMPLE_DIR

__all__ = ["CASES", "Built", "Case", "GOOD", "SLOT", "make_case", "run_config", "TILES"]

ROOT = Path(__file__).resolve().parents[1]
TILES = ROOT / "sample_tiles"
SLOT = "MCD15A2.A2012009.h17v03.005.2012019044037.hdf"
"""The real (cropped) granule damaged by most cases, and the slot it takes in a run."""
GOOD = (
    "MCD15A2.A2012001.h17v03.005.2012017211237.hdf",
    "MCD15A2.A2012001.h18v03.005.2012017211211.hdf",
    "MCD15A2.A2012009.h18v03.005.2012019043358.hdf",
)
"""The good real (cropped) granules every run folder holds besides the case's input."""
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0

RUN_TOML = """\
# corpus case {name}: a small national run (2 dates x 2 tiles, 30 x 20 pixels at 4 km)
[inputs]
paths = ["{inputs}"]
product = "MCD15A2"
start = "2012-01-01"
end = "2012-01-16"

[grid]
crs = "EPSG:3035"
resolution = 4000
bounds = [3580000, 3380000, 3700000, 3460000]

[steps]
qa_rule = "good_lai"
resampling = "nearest"
period = "beps10"
smoother = "none"
reducer = "max"

[output]
dir = "{out}"
formats = ["zarr"]
chunk = 32
report = false

[compute]
workers = 0
"""


@dataclass(frozen=True)
class Built:
    """A case written to disk.

    Attributes
    ----------
    folder
        The run's input folder (three good granules plus the case's input).
    target
        The file the case is about (``open_granule`` is tried on it).
    run_dir
        Where ``run.toml`` and the run's ``out/`` go.
    """

    folder: Path
    target: Path
    run_dir: Path


@dataclass(frozen=True)
class Case:
    """One damaged input.

    Attributes
    ----------
    name, description
        Identifier and what was done (every description says synthetic-from-real).
    category
        ``"error"``, ``"recorded"`` or ``"ok"`` (see the module docstring).
    build
        ``build(folder, rng) -> target``: writes the case's input into the run folder
        (which already holds the good granules unless ``goods`` says otherwise).
    opens
        What ``open_granule(target)`` + reading its layers must do: ``"raise"`` (a
        ModisoftError naming the file), ``"ok"``, or ``"any"`` (either of the two).
        Default: from the category.
    run
        What a run over the folder must do: ``"failed"`` (exit 3, target recorded in
        ``failures``, other outputs written), ``"ok"`` (exit 0, no failures),
        ``"incomplete"`` (exit 3 with no failure: an expected tile-date has no granule of the
        product, which the output must say; other outputs written). Default: from the
        category.
    note
        For ``run == "ok"`` or ``"incomplete"``: a regular expression the run's output must
        contain.
    goods
        The good granules of the folder (default :data:`GOOD`).
    skip
        Why the case cannot be run here (else ``None``).
    """

    name: str
    description: str
    category: str
    build: Callable[[Path, random.Random], Path]
    opens: str | None = None
    run: str | None = None
    note: str | None = None
    goods: tuple[str, ...] = GOOD
    skip: str | None = None

    @property
    def open_expect(self) -> str:
        return self.opens or {"error": "raise", "recorded": "any", "ok": "ok"}[self.category]

    @property
    def run_expect(self) -> str:
        return self.run or {"error": "failed", "recorded": "failed", "ok": "ok"}[self.category]


#: What the run says when the case's slot (2012-009 h17v03) holds no granule of the product.
MISSING_SLOT = r"missing tiles on 2012-01-09: h17v03"


# ------------------------------------------------------------------------------- helpers
def _tile(name: str) -> Path:
    return TILES / name


def _shared(name: str) -> Path:
    return SAMPLE_DIR / name


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)  # the shared samples are read-only; the copies get edited
    return dst


def _write(dst: Path, data: bytes) -> Path:
    dst.write_bytes(data)
    return dst


def _slot_bytes() -> bytearray:
    return bytearray(_tile(SLOT).read_bytes())


def hdf4_descriptors(data: bytes) -> list[tuple[int, int, int, int]]:
    """``(tag, ref, offset, length)`` of every data descriptor of an HDF4 file (the DD
    blocks: after the 4-byte signature, ``int16 count, int32 next`` then 12-byte entries)."""
    out = []
    pos = 4
    seen = set()
    while pos and pos not in seen:
        seen.add(pos)
        n, nxt = struct.unpack(">hi", data[pos:pos + 6])
        for i in range(n):
            tag, ref, off, length = struct.unpack(">HHii", data[pos + 6 + 12 * i:pos + 18 + 12 * i])
            out.append((tag, ref, off, length))
        pos = nxt
    return out


def compressed_blocks(path: Path) -> dict[str, list[tuple[int, int, int]]]:
    """Per SDS name, its deflate-compressed blocks as ``(offset, length, first row)``: the
    DFTAG_COMPRESSED (40) elements whose inflated bytes equal rows of that SDS (read with
    pyhdf), in file order."""
    import numpy as np
    from pyhdf.SD import SD

    data = path.read_bytes()
    sd = SD(str(path))
    arrays = {n: np.ascontiguousarray(sd.select(n)[:]) for n in sd.datasets()}
    sd.end()
    out: dict[str, list[tuple[int, int, int]]] = {}
    for tag, _ref, off, length in hdf4_descriptors(data):
        if tag != 40:
            continue
        raw = zlib.decompress(data[off:off + length])
        for name, arr in arrays.items():
            row_bytes = arr.shape[1] * arr.dtype.itemsize
            if len(raw) % row_bytes:
                continue
            rows = len(raw) // row_bytes
            flat = arr.tobytes()
            for r0 in range(0, arr.shape[0] - rows + 1, rows):
                if flat[r0 * row_bytes:(r0 + rows) * row_bytes] == raw:
                    out.setdefault(name, []).append((off, length, r0))
                    break
    return out


def _set_char_attr(sd, name: str, text: str) -> None:
    """Set a CHAR8 global attribute fast (pyhdf's ``attr.set`` converts char by char in
    Python); ``text`` may carry any byte value (latin-1)."""
    from pyhdf import hdfext
    from pyhdf.SD import SDC

    raw = text.encode("latin-1")
    buf = hdfext.array_byte(len(raw))
    for i, b in enumerate(raw):
        buf[i] = b
    if hdfext.SDsetattr(sd._id, name, SDC.CHAR8, len(raw), buf) != 0:
        raise RuntimeError(f"cannot set attribute {name}")


def _set_char_attrs_repeated(sd, base: str, first: int, text: str, count: int) -> None:
    """``base.first`` … ``base.first+count-1`` all set to ``text`` (one buffer, reused)."""
    from pyhdf import hdfext
    from pyhdf.SD import SDC

    raw = text.encode("latin-1")
    buf = hdfext.array_byte(len(raw))
    for i, b in enumerate(raw):
        buf[i] = b
    for k in range(first, first + count):
        if hdfext.SDsetattr(sd._id, f"{base}.{k}", SDC.CHAR8, len(raw), buf) != 0:
            raise RuntimeError(f"cannot set attribute {base}.{k}")


def _attr_text(path: Path, name: str) -> str:
    from pyhdf.SD import SD

    sd = SD(str(path))
    try:
        val = sd.attributes()[name]
    finally:
        sd.end()
    return val.rstrip("\x00 ")


def _edit_attr(dst: Path, name: str, edit: Callable[[str], str], src: Path | None = None) -> Path:
    """Copy ``src`` (default: the slot granule) to ``dst`` and rewrite one attribute."""
    from pyhdf.SD import SD, SDC

    _copy(src or _tile(SLOT), dst)
    text = edit(_attr_text(dst, name))
    base = name.rsplit(".", 1)[0]
    parts = [text[i:i + 65000] for i in range(0, len(text), 65000)] or [""]
    sd = SD(str(dst), SDC.WRITE)
    try:  # longer than an HDF4 attribute holds: split as HDF-EOS does (.0, .1, ...)
        for i, part in enumerate(parts):
            _set_char_attr(sd, f"{base}.{i}", part)
    finally:
        sd.end()
    return dst


def _struct(edit: Callable[[str], str]) -> Callable[[Path, random.Random], Path]:
    return lambda d, _rng: _edit_attr(d / SLOT, "StructMetadata.0", edit)


def _core(edit: Callable[[str], str]) -> Callable[[Path, random.Random], Path]:
    return lambda d, _rng: _edit_attr(d / SLOT, "CoreMetadata.0", edit)


def _bytes(fn: Callable[[bytearray, random.Random], bytes | bytearray], name: str = SLOT,
           src: Path | None = None) -> Callable[[Path, random.Random], Path]:
    def build(d: Path, rng: random.Random) -> Path:
        data = bytearray((src or _tile(SLOT)).read_bytes())
        return _write(d / name, bytes(fn(data, rng)))
    return build


def _renamed(name: str, src: Path | None = None) -> Callable[[Path, random.Random], Path]:
    return lambda d, _rng: _copy(src or _tile(SLOT), d / name)


def _truncate(frac: float) -> Callable[[bytearray, random.Random], bytes]:
    return lambda b, _rng: bytes(b[:int(len(b) * frac)])


def _block(layer: str, row: int = 0, src: Path | None = None) -> tuple[int, int]:
    """(offset, length) of the compressed block of ``layer`` that starts at ``row``, in the
    slot granule (or ``src``)."""
    blocks = [b for b in compressed_blocks(src or _tile(SLOT))[layer] if b[2] == row]
    assert blocks, f"no compressed block of {layer} starting at row {row}"
    off, length, _ = blocks[0]
    return off, length


def _zero_block(layer: str, row: int = 0, src: Path | None = None):
    def fn(b: bytearray, _rng: random.Random) -> bytearray:
        off, length = _block(layer, row, src)
        b[off:off + length] = bytes(length)
        return b
    return fn


def _flip_block(layer: str, where: str, n: int = 16):
    def fn(b: bytearray, rng: random.Random) -> bytearray:
        off, length = _block(layer)
        if where == "middle":
            start = off + length // 2
        elif where == "end":  # the stream's adler-32 check value
            start = off + length - 4
        elif where == "head":  # the zlib header
            start = off
        else:  # seeded random position inside the block
            start = off + rng.randrange(2, length - n - 4)
        for i in range(start, start + n):
            b[i] ^= 0xFF
        return b
    return fn


def _flip_bit(layer: str):
    def fn(b: bytearray, _rng: random.Random) -> bytearray:
        off, length = _block(layer)
        b[off + length // 2] ^= 0x10
        return b
    return fn


def _dd_edit(fn_edit: Callable[[bytearray, int, int], None], tag: int | None = 40):
    """Rewrite the first data descriptor with ``tag`` (``None``: the whole first DD block)."""
    def fn(b: bytearray, rng: random.Random) -> bytearray:
        pos = 4
        n, _nxt = struct.unpack(">hi", b[pos:pos + 6])
        if tag is None:
            start = pos + 6
            b[start:start + 12 * n] = bytes(rng.getrandbits(8) for _ in range(12 * n))
            return b
        for i in range(n):
            at = pos + 6 + 12 * i
            t, _r, _o, _ln = struct.unpack(">HHii", b[at:at + 12])
            if t == tag:
                fn_edit(b, at, len(b))
                return b
        raise AssertionError(f"no DD with tag {tag}")
    return fn


def _set_dd_offset(b: bytearray, at: int, size: int) -> None:
    b[at + 4:at + 8] = struct.pack(">i", size + 1_000_000)


def _set_dd_length(b: bytearray, at: int, size: int) -> None:
    b[at + 8:at + 12] = struct.pack(">i", 2**31 - 1)


def _sub(pattern: str, repl: str, count: int = 0) -> Callable[[str], str]:
    def edit(text: str) -> str:
        new, n = re.subn(pattern, repl, text, count=count)
        assert n, f"pattern {pattern!r} not in the metadata"
        return new
    return edit


def _corner(text: str, key: str) -> tuple[float, float]:
    m = re.search(key + r"=\(([-\d.]+),([-\d.]+)\)", text)
    assert m, key
    return float(m[1]), float(m[2])


def _shift_corners(dx: float, dy: float) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for key in ("UpperLeftPointMtrs", "LowerRightMtrs"):
            x, y = _corner(text, key)
            text = re.sub(key + r"=\([^)]*\)", f"{key}=({x + dx:.6f},{y + dy:.6f})", text)
        return text
    return edit


def _swap_corners(text: str) -> str:
    ul = re.search(r"UpperLeftPointMtrs=\(([^)]*)\)", text)[1]
    lr = re.search(r"LowerRightMtrs=\(([^)]*)\)", text)[1]
    text = re.sub(r"UpperLeftPointMtrs=\([^)]*\)", f"UpperLeftPointMtrs=({lr})", text)
    return re.sub(r"LowerRightMtrs=\([^)]*\)", f"LowerRightMtrs=({ul})", text)


def _dims(x: str, y: str) -> Callable[[str], str]:
    """XDim/YDim (and the Dimension group's sizes) set to ``x``/``y``."""
    def edit(text: str) -> str:
        text = re.sub(r"XDim=\d+", f"XDim={x}", text)
        text = re.sub(r"YDim=\d+", f"YDim={y}", text)
        text = re.sub(r'(DimensionName="XDim"\s+Size=)\d+', rf"\g<1>{x}", text)
        return re.sub(r'(DimensionName="YDim"\s+Size=)\d+', rf"\g<1>{y}", text)
    return edit


def _nest(depth: int, kind: str = "GROUP", anchor: str = "GROUP=GridStructure\n"):
    def edit(text: str) -> str:
        opens = "".join(f"{kind}=N{i}\n" for i in range(depth))
        closes = "".join(f"END_{kind}=N{i}\n" for i in reversed(range(depth)))
        assert anchor in text
        return text.replace(anchor, anchor + opens + closes, 1)
    return edit


def _struct_huge(unit: str, mb: int = 50, before_end: bool = True
                 ) -> Callable[[Path, random.Random], Path]:
    """StructMetadata of ``mb`` MB: the real text, then ``unit`` repeated, split over
    ``StructMetadata.0`` … ``.N`` as HDF-EOS splits long metadata (an HDF4 attribute holds at
    most 65535 bytes; the parts here are 65000 characters)."""
    def build(d: Path, _rng: random.Random) -> Path:
        from pyhdf.SD import SD, SDC

        dst = _copy(_tile(SLOT), d / SLOT)
        text = _attr_text(dst, "StructMetadata.0")
        part = unit * (65000 // len(unit))
        count = mb * 2**20 // len(part)
        body = text
        tail = ""
        if before_end and text.endswith("END"):  # the filler inside the ODL, before END
            body, tail = text[:-3], "END\n"
        sd = SD(str(dst), SDC.WRITE)
        try:
            _set_char_attr(sd, "StructMetadata.0", body)
            _set_char_attrs_repeated(sd, "StructMetadata", 1, part, count)
            if tail:
                _set_char_attr(sd, f"StructMetadata.{count + 1}", tail)
        finally:
            sd.end()
        return dst
    return build


def _patch_struct_bytes(fn: Callable[[bytearray, int, int, random.Random], None]):
    """Edit the bytes of the StructMetadata text in place (same length), in the file."""
    def build(d: Path, rng: random.Random) -> Path:
        data = _slot_bytes()
        start = data.find(b"GROUP=SwathStructure")
        end = re.compile(rb"\nEND(?![_A-Z])").search(data, start).end()
        fn(data, start, end, rng)
        return _write(d / SLOT, bytes(data))
    return build


def _rename_sds_bytes(d: Path, _rng: random.Random) -> Path:
    data = _slot_bytes()
    s0 = data.find(b"GROUP=SwathStructure")
    s1 = s0 + 32000
    for m in list(re.finditer(rb"Lai_1km", bytes(data))):
        if not s0 <= m.start() < s1:
            data[m.start():m.end()] = b"Lai_1kX"
    return _write(d / SLOT, bytes(data))


def _core_version_006(d: Path, _rng: random.Random) -> Path:
    name = SLOT.replace(".005.", ".006.")

    def edit(text: str) -> str:
        text = re.sub(r"(OBJECT\s+=\s+VERSIONID\s+NUM_VAL\s+=\s+1\s+VALUE\s+=\s+)5", r"\g<1>6",
                      text)
        return text.replace(SLOT, name)

    return _edit_attr(d / name, "CoreMetadata.0", edit)


# folder-level builders --------------------------------------------------------------------
def _duplicate(name: str, src: Path | None = None, link: bool = False):
    def build(d: Path, _rng: random.Random) -> Path:
        _copy(_tile(SLOT), d / SLOT)
        if link:
            os.symlink(SLOT, d / name)
            return d / name
        return _copy(src or _tile(SLOT), d / name)
    return build


def _same_name_in_subfolder(d: Path, _rng: random.Random) -> Path:
    _copy(_tile(SLOT), d / SLOT)
    (d / "again").mkdir()
    return _copy(_tile(SLOT), d / "again" / SLOT)


def _missing_tile(d: Path, _rng: random.Random) -> Path:
    return d / GOOD[2]  # the slot stays empty: h17v03 is missing on 2012-01-09


def _missing_date(d: Path, _rng: random.Random) -> Path:
    return d / GOOD[0]  # neither tile of 2012-01-09: the whole date is missing


def _with_slot(extra: Callable[[Path, random.Random], Path]):
    """The real slot granule too, plus what ``extra`` writes (the target)."""
    def build(d: Path, rng: random.Random) -> Path:
        _copy(_tile(SLOT), d / SLOT)
        return extra(d, rng)
    return build


def _directory(d: Path, _rng: random.Random) -> Path:
    (d / SLOT).mkdir()
    return d / SLOT


def _self_loop(d: Path, _rng: random.Random) -> Path:
    os.symlink(SLOT, d / SLOT)
    return d / SLOT


def _pair_loop(d: Path, _rng: random.Random) -> Path:
    os.symlink("loop_b.hdf", d / SLOT)
    os.symlink(SLOT, d / "loop_b.hdf")
    return d / SLOT


def _dangling(d: Path, _rng: random.Random) -> Path:
    os.symlink("gone/" + SLOT, d / SLOT)
    return d / SLOT


def _dir_loop(d: Path, _rng: random.Random) -> Path:
    _copy(_tile(SLOT), d / SLOT)
    (d / "sub").mkdir()
    os.symlink("..", d / "sub" / "up")
    return d / "sub" / "up" / SLOT


def _fifo(d: Path, _rng: random.Random) -> Path:
    os.mkfifo(d / SLOT)
    return d / SLOT


def _dev_zero(d: Path, _rng: random.Random) -> Path:
    os.symlink("/dev/zero", d / SLOT)
    return d / SLOT


def _unreadable(d: Path, _rng: random.Random) -> Path:
    dst = _copy(_tile(SLOT), d / SLOT)
    os.chmod(dst, 0)
    return dst


def _sparse(d: Path, _rng: random.Random) -> Path:
    dst = d / SLOT
    with open(dst, "wb") as fh:
        fh.truncate(4 * 2**30)  # 4 GiB of zeros, sparse: no disk used
    return dst


_NON_UTF8 = os.fsdecode(b"caf\xe9-\xff\xfe")


def _non_utf8(damage: Callable[[bytearray, random.Random], bytes] | None = None):
    def build(d: Path, rng: random.Random) -> Path:
        sub = d / _NON_UTF8
        sub.mkdir()
        if damage is None:
            return _copy(_tile(SLOT), sub / SLOT)
        return _write(sub / SLOT, bytes(damage(_slot_bytes(), rng)))
    return build


def _random(n: int, head: bytes = b""):
    return lambda _b, rng: head + bytes(rng.getrandbits(8) for _ in range(n - len(head)))


def _avhrr(fn: Callable[[bytearray, random.Random], bytes | bytearray]):
    src = _shared("NSS.GHRR.TN.D80003.S1147.E1332.B0630506.GC")
    return _bytes(fn, name=src.name, src=src)


def _garbage_header(n: int):
    def fn(b: bytearray, rng: random.Random) -> bytearray:
        b[:n] = bytes(rng.getrandbits(8) for _ in range(n))
        return b
    return fn


def _insert_byte(b: bytearray, _rng: random.Random) -> bytearray:
    return b[:4] + b"\x00" + b[4:]


def _gzip(b: bytearray, _rng: random.Random) -> bytes:
    return gzip.compress(bytes(b), mtime=0)


def _append_garbage(b: bytearray, rng: random.Random) -> bytes:
    return bytes(b) + bytes(rng.getrandbits(8) for _ in range(1 << 20))


def _struct_invalid_utf8(data: bytearray, start: int, end: int, _rng: random.Random) -> None:
    mid = start + (end - start) // 2
    data[mid:mid + 64] = b"\xff\xfe\xc3\x28" * 16


def _struct_zero_bytes(data: bytearray, start: int, end: int, _rng: random.Random) -> None:
    data[start:end] = bytes(end - start)


def _struct_random_bytes(data: bytearray, start: int, end: int, rng: random.Random) -> None:
    data[start:end] = bytes(rng.getrandbits(8) for _ in range(end - start))


def _struct_hide(data: bytearray, start: int, end: int, _rng: random.Random) -> None:
    for m in list(re.finditer(rb"StructMetadata\.0", bytes(data))):
        data[m.start()] = ord("X")


def _printable_garbage(_text: str) -> str:
    rng = random.Random(1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ=()\",.\n\t 0123456789_"
    return "".join(rng.choice(alphabet) for _ in range(4000))


def _truncate_text(text: str) -> str:
    return text[: len(text) // 2]


# ---------------------------------------------------------------------------------- cases
_S = f"synthetic-from-real: {SLOT} (real, cropped; sample_tiles/)"
_MOD13 = "MOD13A2.A2025001.h18v09.061.2025022080611.hdf"
_VNP13 = "VNP13A2.A2025001.h18v09.002.2025017085341.h5"
_FDR = "AVHRR-GAC_FDR_1C_N06_19810330T042358Z_19810330T060903Z_R_O_20200101T000000Z_0100.nc"
_NSS = "NSS.GHRR.TN.D80003.S1147.E1332.B0630506.GC"
_FULL = _shared(SLOT)  # the same granule, the whole real tile (1200 x 1200, chunked)
_TILE_W = 1111950.519667

CASES: list[Case] = [
    # --- truncation and other whole-file damage --------------------------------------------
    Case("truncated_10pct", f"{_S}, cut to its first 10 % of bytes", "error",
         _bytes(_truncate(0.10))),
    Case("truncated_50pct", f"{_S}, cut to its first 50 % of bytes", "error",
         _bytes(_truncate(0.50))),
    Case("truncated_99pct", f"{_S}, cut to its first 99 % of bytes", "error",
         _bytes(_truncate(0.99))),
    Case("truncated_last_byte", f"{_S}, its last byte removed: in every HDF4 sample here that "
         "byte is referenced by no data descriptor (the file's own directory ends one byte "
         "before the file), so nothing is lost and the granule reads whole: legitimately fine",
         "ok", _bytes(lambda b, _r: bytes(b[:-1]))),
    Case("truncated_last_two_bytes", f"{_S}, its last two bytes removed (the last data "
         "descriptor now ends past the end of the file: a truncated download, even if the "
         "pixels still inflate)", "error", _bytes(lambda b, _r: bytes(b[:-2]))),
    Case("truncated_to_signature", f"{_S}, only its 4-byte HDF4 signature left", "error",
         _bytes(lambda b, _r: bytes(b[:4]))),
    Case("truncated_full_tile_50pct",
         f"synthetic-from-real: {SLOT} (real whole tile, ../shared/sample-data), cut at 50 %",
         "error", _bytes(_truncate(0.50), src=_FULL)),
    Case("zero_byte", f"{_S}: an empty file under its name (a failed download)", "error",
         _bytes(lambda _b, _r: b"")),
    Case("random_bytes", f"{_S} name, holding 128 KiB of seeded random bytes instead",
         "error", _bytes(_random(131072))),
    Case("random_after_hdf4_signature",
         f"{_S} name: the HDF4 signature followed by 128 KiB of seeded random bytes", "error",
         _bytes(_random(131072, b"\x0e\x03\x13\x01"))),
    Case("random_after_hdf5_signature",
         f"{_S} name: the HDF5 signature followed by 128 KiB of seeded random bytes", "error",
         _bytes(_random(131072, b"\x89HDF\r\n\x1a\n"))),
    Case("html_error_page", f"{_S} name holding an HTML 'access denied' page (a failed "
         "download saved under the granule name)", "error",
         _bytes(lambda _b, _r: b"<!DOCTYPE html><html><head><title>401 Unauthorized</title>"
                b"</head><body>Earthdata Login required</body></html>\n")),
    Case("gzip_named_hdf", f"{_S}, gzip-compressed but still named .hdf", "error",
         _bytes(_gzip)),
    Case("byte_inserted_after_signature",
         f"{_S} with one byte inserted after the signature (every offset off by one)",
         "error", _bytes(_insert_byte)),
    Case("sparse_4gib_zeros", f"{_S} name: a sparse 4 GiB file of zeros", "error", _sparse),
    Case("trailing_garbage", f"{_S} with 1 MiB of seeded random bytes appended (HDF4 does "
         "not read past its objects: legitimately fine)", "ok", _bytes(_append_garbage)),
    # --- HDF4 internals: compressed blocks and data descriptors ----------------------------
    Case("zeroed_lai_block", f"{_S}: the deflate block of Lai_1km zero-filled", "error",
         _bytes(_zero_block("Lai_1km"))),
    Case("zeroed_qa_block", f"{_S}: the deflate block of FparLai_QC zero-filled", "error",
         _bytes(_zero_block("FparLai_QC"))),
    Case("zeroed_chunk_full_tile",
         f"synthetic-from-real: {SLOT} (real whole tile): the Lai_1km chunk of rows 600-699 "
         "(inside the run's window) zero-filled", "error",
         _bytes(_zero_block("Lai_1km", 600, _FULL), src=_FULL)),
    Case("flipped_bytes_lai_middle", f"{_S}: 16 bytes in the middle of the Lai_1km deflate "
         "block inverted (HDF4 inflates it without complaint; the adler-32 check fails)",
         "error", _bytes(_flip_block("Lai_1km", "middle"))),
    Case("flipped_bytes_lai_random", f"{_S}: 16 bytes at a seeded random place of the Lai_1km "
         "deflate block inverted", "error", _bytes(_flip_block("Lai_1km", "random"))),
    Case("flipped_bytes_qa_middle", f"{_S}: 16 bytes in the middle of the FparLai_QC deflate "
         "block inverted", "error", _bytes(_flip_block("FparLai_QC", "middle"))),
    Case("flipped_adler32", f"{_S}: the adler-32 check value ending the Lai_1km deflate "
         "block inverted", "error", _bytes(_flip_block("Lai_1km", "end", 4))),
    Case("flipped_zlib_header", f"{_S}: the 2-byte zlib header of the Lai_1km block "
         "inverted", "error", _bytes(_flip_block("Lai_1km", "head", 2))),
    Case("flipped_single_bit", f"{_S}: one bit in the middle of the Lai_1km deflate block "
         "flipped", "error", _bytes(_flip_bit("Lai_1km"))),
    Case("dd_block_random", f"{_S}: the first HDF4 data-descriptor block overwritten with "
         "seeded random bytes", "error", _bytes(_dd_edit(lambda *_: None, tag=None))),
    Case("dd_offset_past_eof", f"{_S}: the descriptor of the first compressed block points "
         "1 MB past the end of the file", "error", _bytes(_dd_edit(_set_dd_offset))),
    Case("dd_length_huge", f"{_S}: the descriptor of the first compressed block claims "
         "2**31-1 bytes, far past the end of the file", "error",
         _bytes(_dd_edit(_set_dd_length))),
    Case("sds_renamed", f"{_S}: the SDS Lai_1km renamed Lai_1kX in the file while "
         "StructMetadata still lists Lai_1km", "recorded", _rename_sds_bytes),
    # --- StructMetadata ---------------------------------------------------------------------
    Case("struct_printable_garbage", f"{_S}: StructMetadata.0 replaced by 4000 seeded "
         "printable garbage characters", "error", _struct(_printable_garbage)),
    Case("struct_random_bytes", f"{_S}: the StructMetadata text overwritten in place with "
         "seeded random bytes", "error", _patch_struct_bytes(_struct_random_bytes)),
    Case("struct_zero_bytes", f"{_S}: the StructMetadata text overwritten in place with NUL "
         "bytes", "error", _patch_struct_bytes(_struct_zero_bytes)),
    Case("struct_invalid_utf8", f"{_S}: 64 bytes of invalid UTF-8 written into the middle of "
         "the StructMetadata text", "error", _patch_struct_bytes(_struct_invalid_utf8)),
    Case("struct_attribute_missing", f"{_S}: the attribute StructMetadata.0 renamed "
         "(XtructMetadata.0), so the file has no HDF-EOS grid", "error",
         _patch_struct_bytes(_struct_hide)),
    Case("struct_empty", f"{_S}: StructMetadata.0 set to a single blank", "error",
         _struct(lambda _t: " ")),
    Case("struct_truncated_text", f"{_S}: StructMetadata.0 cut in the middle of the text",
         "error", _struct(_truncate_text)),
    Case("struct_unbalanced", f"{_S}: END_GROUP=GridStructure removed from StructMetadata",
         "error", _struct(_sub(r"END_GROUP=GridStructure\n", "", 1))),
    Case("struct_deep_nesting", f"{_S}: 10,000 nested GROUP levels inserted in "
         "StructMetadata's GridStructure", "error", _struct(_nest(10000))),
    Case("struct_deep_nesting_100k", f"{_S}: 100,000 nested GROUP levels inserted in "
         "StructMetadata's GridStructure", "error", _struct(_nest(100000))),
    Case("struct_deep_object_nesting", f"{_S}: 10,000 nested OBJECT levels inserted in "
         "StructMetadata's GridStructure", "error", _struct(_nest(10000, "OBJECT"))),
    Case("struct_50mb_junk", f"{_S}: StructMetadata grown to 50 MB of empty ODL groups "
         "(split over StructMetadata.0-.807, about 65000 characters each); real grid "
         "metadata is a few kB: a reader should refuse it quickly rather than parse it",
         "error",
         _struct_huge("GROUP=Junk\nEND_GROUP=Junk\n")),
    Case("struct_50mb_blank_padding", f"{_S}: StructMetadata padded with 50 MB of blanks "
         "after END (split over StructMetadata.0-.806; real ones are a few kB): over the "
         "documented 4 MiB metadata limit (docs/reference/limits.md), refused before parsing",
         "error", _struct_huge(" " * 100, before_end=False)),
    Case("struct_corners_swapped", f"{_S}: UpperLeftPointMtrs and LowerRightMtrs swapped",
         "error", _struct(_swap_corners)),
    Case("struct_corners_equal", f"{_S}: LowerRightMtrs set equal to UpperLeftPointMtrs "
         "(zero extent)", "error",
         _struct(lambda t: re.sub(r"LowerRightMtrs=\([^)]*\)", "LowerRightMtrs=({},{})".format(
             *_corner(t, "UpperLeftPointMtrs")), t))),
    Case("struct_corners_nan", f"{_S}: UpperLeftPointMtrs=(nan,nan)", "error",
         _struct(_sub(r"UpperLeftPointMtrs=\([^)]*\)", "UpperLeftPointMtrs=(nan,nan)"))),
    Case("struct_corners_inf", f"{_S}: LowerRightMtrs=(1e400,-1e400) (infinite)", "error",
         _struct(_sub(r"LowerRightMtrs=\([^)]*\)", "LowerRightMtrs=(1e400,-1e400)"))),
    Case("struct_corners_off_earth", f"{_S}: both corners moved 9e7 m east (outside the "
         "sinusoidal world)", "error", _struct(_shift_corners(9e7, 0.0))),
    Case("struct_corners_other_tile", f"{_S}: both corners moved one tile east (the corners "
         "of h18v03 in a granule named and described as h17v03)", "recorded",
         _struct(_shift_corners(_TILE_W, 0.0))),
    Case("struct_corners_far_tile", f"{_S}: both corners moved 13 tiles east and 7 south "
         "(h30v10 in a granule of h17v03)", "recorded",
         _struct(_shift_corners(13 * _TILE_W, -7 * _TILE_W))),
    Case("struct_no_projparams", f"{_S}: the ProjParams line removed from the grid (the "
         "sphere radius of GCTP_SNSOID is unknown)", "error",
         _struct(_sub(r"\t*ProjParams=\([^)]*\)\n", ""))),
    Case("struct_projparams_garbage", f"{_S}: ProjParams=(abc,def)", "error",
         _struct(_sub(r"ProjParams=\([^)]*\)", "ProjParams=(abc,def)"))),
    Case("struct_projection_unknown", f"{_S}: Projection=GCTP_NOSUCH", "error",
         _struct(_sub(r"Projection=GCTP_SNSOID", "Projection=GCTP_NOSUCH"))),
    Case("struct_dims_1e9_pixels", f"{_S}: XDim=YDim=31623 (1e9 pixels) in StructMetadata; "
         "the SDS stay 300 x 300", "error", _struct(_dims("31623", "31623"))),
    Case("struct_xdim_1e9", f"{_S}: XDim=1000000000 (and its Dimension size)", "error",
         _struct(_dims("1000000000", "300"))),
    Case("struct_dims_negative", f"{_S}: XDim=-300, YDim=-300", "error",
         _struct(_dims("-300", "-300"))),
    Case("struct_dims_zero", f"{_S}: XDim=0, YDim=0", "error", _struct(_dims("0", "0"))),
    Case("struct_dims_not_numbers", f"{_S}: XDim=abc, YDim=1e3x", "error",
         _struct(_dims("abc", "1e3x"))),
    # --- CoreMetadata ------------------------------------------------------------------------
    Case("core_printable_garbage", f"{_S}: CoreMetadata.0 replaced by 4000 seeded printable "
         "garbage characters", "error", _core(_printable_garbage)),
    Case("core_deep_nesting", f"{_S}: 10,000 nested GROUP levels inserted in CoreMetadata",
         "error", _core(_nest(10000, anchor="GROUP                  = INVENTORYMETADATA\n"))),
    # --- names and identity ------------------------------------------------------------------
    Case("name_year_0", f"{_S}, renamed MCD15A2.A0000001.h17v03... (year 0)", "recorded",
         _renamed("MCD15A2.A0000001.h17v03.005.2012019044037.hdf")),
    Case("name_doy_400", f"{_S}, renamed MCD15A2.A2012400... (day of year 400)", "recorded",
         _renamed("MCD15A2.A2012400.h17v03.005.2012019044037.hdf")),
    Case("name_doy_000", f"{_S}, renamed MCD15A2.A2012000... (day of year 0)", "recorded",
         _renamed("MCD15A2.A2012000.h17v03.005.2012019044037.hdf")),
    Case("name_tile_h99v99", f"{_S}, renamed with tile h99v99 (no such MODIS tile)",
         "recorded", _renamed("MCD15A2.A2012009.h99v99.005.2012019044037.hdf")),
    Case("name_production_time_invalid", f"{_S}, renamed with production time "
         "2012999999999 (day 999, hour 99)", "recorded",
         _renamed("MCD15A2.A2012009.h17v03.005.2012999999999.hdf")),
    Case("name_lowercase", f"{_S}, its name in lower case (a case-insensitive file system "
         "copy: legitimately fine)", "ok", _renamed(SLOT.lower())),
    Case("name_uppercase_extension", f"{_S} named .HDF (legitimately fine)", "ok",
         _renamed(SLOT[:-4] + ".HDF")),
    Case("identity_other_date", "synthetic-from-real: MCD15A2.A2012001.h17v03 (real, "
         "cropped) renamed as the 2012-009 granule: the file name and the embedded metadata "
         "disagree on the date", "recorded",
         _renamed(SLOT, _tile("MCD15A2.A2012001.h17v03.005.2012017211237.hdf"))),
    Case("identity_other_tile", "synthetic-from-real: MCD15A2.A2012009.h18v03 (real, "
         "cropped) renamed as h17v03: name and metadata (and grid corners) disagree on the "
         "tile", "recorded", _renamed(SLOT, _tile(GOOD[2]))),
    Case("identity_other_product", f"synthetic-from-real: {_MOD13} (real) renamed as the "
         "MCD15A2 granule: the name says MCD15A2 005, the metadata MOD13A2 061", "recorded",
         _renamed(SLOT, _tile(_MOD13))),
    Case("collection_006_name_only", f"{_S}, renamed .006. (the embedded metadata still "
         "says collection 5)", "recorded", _renamed(SLOT.replace(".005.", ".006."))),
    Case("hdf5_named_hdf", f"synthetic-from-real: {_VNP13} (real HDF5) renamed as the "
         "MCD15A2 .hdf granule", "recorded", _renamed(SLOT, _shared(_VNP13))),
    Case("netcdf4_named_hdf", f"synthetic-from-real: {_FDR} (real netCDF-4/HDF5 AVHRR L1C) "
         "renamed as the MCD15A2 .hdf granule", "recorded", _renamed(SLOT, _shared(_FDR))),
    # --- the batch ---------------------------------------------------------------------------
    Case("mixed_collections_005_006", f"{_S} turned into collection 006 (name and "
         "CoreMetadata VERSIONID 6) among 005 granules: one series must not mix collections",
         "recorded", _core_version_006),
    Case("wrong_product_in_batch", f"synthetic-from-real: {_MOD13} (real, its own name) "
         "among the MCD15A2 granules: not an input of an MCD15A2 run, skipped with a note "
         "naming it", "ok", _with_slot(lambda d, _r: _copy(_tile(_MOD13), d / _MOD13)),
         note=re.escape(_MOD13)),
    Case("duplicate_copy", f"{_S} plus a byte-identical copy named with a later production "
         "time: one is used, the other skipped with a note", "ok",
         _duplicate(SLOT.replace(".2012019044037.", ".2012020000000.")), note="duplicate"),
    Case("duplicate_two_versions", f"{_S} plus an older version of the same granule "
         "(synthetic-from-real: the real whole tile named with an earlier production time): "
         "the newest is used, the other skipped with a note", "ok",
         _duplicate(SLOT.replace(".2012019044037.", ".2012015000000."), src=_FULL),
         note=r"duplicate: using " + re.escape(SLOT)),
    Case("duplicate_symlink", f"{_S} plus a symbolic link to it named with a later "
         "production time", "ok",
         _duplicate(SLOT.replace(".2012019044037.", ".2012020000000."), link=True),
         note="duplicate"),
    Case("duplicate_same_name_subfolder", f"{_S} twice: in the input folder and, under the "
         "same name, in a subfolder", "ok", _same_name_in_subfolder, note="duplicate"),
    Case("missing_tile_for_date", "synthetic-from-real: the real (cropped) granules without "
         "2012-009 h17v03: a tile missing on one date is reported, the run completes and "
         "exits 3 (a tile-date missing)", "ok", _missing_tile, run="incomplete",
         note=r"missing tiles on 2012-01-09: h17v03"),
    Case("missing_date", "synthetic-from-real: only the 2012-001 granules (real, cropped): "
         "the date 2012-01-09 is reported missing (exit 3)", "ok", _missing_date,
         run="incomplete", note=r"missing dates \(1\): 2012-01-09", goods=GOOD[:2]),
    # --- the file system ---------------------------------------------------------------------
    Case("directory_named_like_granule", f"synthetic-from-real: an empty directory named "
         f"{SLOT}", "error", _directory),
    Case("symlink_self_loop", f"synthetic-from-real: {SLOT} is a symbolic link to itself",
         "error", _self_loop),
    Case("symlink_pair_loop", f"synthetic-from-real: {SLOT} -> loop_b.hdf -> {SLOT}",
         "error", _pair_loop),
    Case("symlink_dangling", f"synthetic-from-real: {SLOT} is a symbolic link to a file "
         "that does not exist", "error", _dangling),
    Case("symlink_directory_loop", f"{_S} in a folder with a subfolder link back to it "
         "(sub/up -> ..): the finder must not loop; the granule is used once", "ok",
         _dir_loop),
    Case("fifo_named_like_granule", f"synthetic-from-real: a named pipe called {SLOT} "
         "(reading it would block forever)", "error", _fifo),
    Case("symlink_to_dev_zero", f"synthetic-from-real: {SLOT} links to /dev/zero (endless "
         "zeros)", "error", _dev_zero),
    Case("unreadable_mode_000", f"{_S} with permissions 000", "error", _unreadable,
         skip="running as root: a mode-000 file is still readable" if ROOT_USER else None),
    Case("non_utf8_folder", f"{_S} in a subfolder whose name is not UTF-8 "
         "(b'caf\\xe9-\\xff\\xfe'): the HDF library and the outputs' text metadata need "
         "text names, so it is refused naming the file (rename the folder)", "error",
         _non_utf8()),
    Case("non_utf8_folder_truncated", f"{_S} cut at 50 % in a subfolder whose name is not "
         "UTF-8: the error must still name the file", "error", _non_utf8(_truncate(0.5))),
    # --- other formats -----------------------------------------------------------------------
    Case("avhrr_garbage_header", f"synthetic-from-real: {_NSS} (real AVHRR GAC level-1b) "
         "with its first 512 bytes (the header record) replaced by seeded random bytes; not "
         "an input of an MCD15A2 run", "error", _avhrr(_garbage_header(512)), run="incomplete",
         note=MISSING_SLOT),
    Case("avhrr_header_only", f"synthetic-from-real: {_NSS} cut to its first 100 bytes",
         "error", _avhrr(_truncate(100 / 60000)), run="incomplete",
         note=MISSING_SLOT),
    Case("avhrr_truncated_half", f"synthetic-from-real: {_NSS} cut at 50 %", "error",
         _avhrr(_truncate(0.5)), run="incomplete",
         note=MISSING_SLOT),
    Case("avhrr_zero_byte", f"synthetic-from-real: {_NSS} name, 0 bytes", "error",
         _avhrr(lambda _b, _r: b""), run="incomplete",
         note=MISSING_SLOT),
    Case("avhrr_fdr_truncated", f"synthetic-from-real: {_FDR} (real netCDF-4) cut at 50 %; "
         "not an input of an MCD15A2 run", "error",
         _bytes(_truncate(0.5), name=_FDR, src=_shared(_FDR)), run="incomplete",
         note=MISSING_SLOT),
    Case("vnp13_truncated", f"synthetic-from-real: {_VNP13} (real HDF5) cut at 50 %; not an "
         "input of an MCD15A2 run", "error",
         _bytes(_truncate(0.5), name=_VNP13, src=_shared(_VNP13)), run="incomplete",
         note=MISSING_SLOT),
    Case("vnp13_named_hdf", f"synthetic-from-real: {_VNP13} (real HDF5) under its own name "
         "with the extension .hdf: content sniffing reads it; not an input of an MCD15A2 run",
         "ok", _renamed(_VNP13[:-3] + ".hdf", _shared(_VNP13)), run="incomplete",
         note=MISSING_SLOT),
    Case("mod13_truncated", f"synthetic-from-real: {_MOD13} (real) cut at 50 %; not an input "
         "of an MCD15A2 run", "error",
         _bytes(_truncate(0.5), name=_MOD13, src=_tile(_MOD13)), run="incomplete",
         note=MISSING_SLOT),
]

_BY_NAME = {c.name: c for c in CASES}
assert len(_BY_NAME) == len(CASES), "case names must be unique"


def make_case(case: Case | str, root: Path) -> Built:
    """Write a case under ``root/<name>/``: the run folder ``in/`` (good granules plus the
    case's input) and the place of ``run.toml``/``out``.

    Parameters
    ----------
    case
        A :class:`Case` or its name.
    root
        A writable folder.

    Returns
    -------
    Built
    """
    if isinstance(case, str):
        case = _BY_NAME[case]
    run_dir = root / case.name
    folder = run_dir / "in"
    folder.mkdir(parents=True)
    for name in case.goods:
        _copy(_tile(name), folder / name)
    rng = random.Random(zlib.crc32(case.name.encode()))
    target = case.build(folder, rng)
    return Built(folder=folder, target=target, run_dir=run_dir)


def run_config(built: Built, name: str) -> Path:
    """``run.toml`` of a small national run over the case's folder (zarr only, 4 km grid
    across the h17v03/h18v03 edge, 2012-01-01 to 2012-01-16, no cluster)."""
    cfg = built.run_dir / "run.toml"
    cfg.write_text(RUN_TOML.format(name=name, inputs=built.folder, out=built.run_dir / "out"))
    return cfg
