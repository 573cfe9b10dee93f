"""Shared fixtures: the real sample granules, and a writer of small synthetic HDF-EOS2 files.

Synthetic files are labelled as such: they are written here with pyhdf from the documented
HDF-EOS2 layout (an ODL ``StructMetadata.0`` with a ``GridStructure``, ``CoreMetadata.0``
inventory, SDS with ``_FillValue``/``scale_factor``/``valid_range``), for cases the real sample
set lacks (a geographic grid, split metadata, corrupted metadata, an unknown product).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import dask
import numpy as np
import pytest

# Reproducible outputs (the reproducible-builds convention the CF writers honour for
# ``date_created``): rewrites and resumed runs, in process or in a subprocess, compare byte
# for byte.  tests/write/test_cf.py checks the wall-clock default without it.
os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
# The runs of the tests record their costs (for ``run --plan``) in a folder of their own, not
# in the user's cache.
os.environ.setdefault("MODISOFT_CACHE_DIR", os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"modisoft-test-cache-{os.getuid()}"))

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "sample-data"


def sample(name: str) -> Path:
    """Path of a real sample granule; skips the test when the shared folder is absent."""
    p = SAMPLE_DIR / name
    if not p.exists():
        pytest.skip(f"sample file {p} not present (../shared/sample-data missing)")
    return p


def sample_hdf4_files() -> list[Path]:
    """Every HDF4 granule in the sample set."""
    if not SAMPLE_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLE_DIR.glob("*.hdf"))


def synth_viirs():
    """``scripts/synth_viirs.py``, the one writer of synthetic VNP15A2H/VJ115A2H granules
    (the VIIRS demo's and the tests'), loaded as the module ``synth_viirs``."""
    import importlib.util
    import sys

    if "synth_viirs" not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "scripts" / "synth_viirs.py"
        spec = importlib.util.spec_from_file_location("synth_viirs", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["synth_viirs"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["synth_viirs"]


def sha256(path: os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a test process of ``pytest -n 2 --dist loadgroup`` (scripts/test.sh), the tests
    marked slow come first, otherwise in collection order: the scheduler hands out the groups
    (biggest first) and then the single tests in this order, so the long ones start early
    and the two processes end together.  A plain ``pytest`` keeps the collection order."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _synchronous_dask():
    """Most tests run with dask's synchronous scheduler (deterministic, debuggable)."""
    with dask.config.set(scheduler="synchronous"):
        yield


def struct_metadata(grids: list[dict]) -> str:
    """StructMetadata.0 text for grids given as dicts (name, nx, ny, ul, lr, proj, params,
    fields=[(name, DFNT type)], extra lines)."""
    out = ["GROUP=SwathStructure", "END_GROUP=SwathStructure", "GROUP=GridStructure"]
    for i, g in enumerate(grids, 1):
        out += [
            f"\tGROUP=GRID_{i}",
            f'\t\tGridName="{g["name"]}"',
            f"\t\tXDim={g['nx']}",
            f"\t\tYDim={g['ny']}",
            "\t\tUpperLeftPointMtrs=({:.6f},{:.6f})".format(*g["ul"]),
            "\t\tLowerRightMtrs=({:.6f},{:.6f})".format(*g["lr"]),
            f"\t\tProjection={g.get('proj', 'GCTP_SNSOID')}",
            "\t\tProjParams=("
            + ",".join(
                str(v) for v in g.get("params", [6371007.181, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            )
            + ")",
            f"\t\tSphereCode={g.get('sphere', -1)}",
        ]
        out += [f"\t\t{line}" for line in g.get("extra", ["GridOrigin=HDFE_GD_UL"])]
        out += ["\t\tGROUP=Dimension", "\t\tEND_GROUP=Dimension", "\t\tGROUP=DataField"]
        for j, (fname, ftype) in enumerate(g["fields"], 1):
            out += [
                f"\t\t\tOBJECT=DataField_{j}",
                f'\t\t\t\tDataFieldName="{fname}"',
                f"\t\t\t\tDataType={ftype}",
                '\t\t\t\tDimList=("YDim","XDim")',
                f"\t\t\tEND_OBJECT=DataField_{j}",
            ]
        out += [
            "\t\tEND_GROUP=DataField",
            "\t\tGROUP=MergedFields",
            "\t\tEND_GROUP=MergedFields",
            f"\tEND_GROUP=GRID_{i}",
        ]
    out += ["END_GROUP=GridStructure", "GROUP=PointStructure", "END_GROUP=PointStructure", "END"]
    return "\n".join(out) + "\n"


def core_metadata(
    granule_id: str,
    short_name: str,
    version: int,
    begin: str,
    end: str,
    produced: str = "2020-01-02T03:04:05.000Z",
    tile: tuple[int, int] | None = None,
) -> str:
    """A minimal ECS CoreMetadata.0 inventory in ODL."""
    extra = ""
    if tile is not None:
        extra = "".join(
            f"""
    OBJECT                 = ADDITIONALATTRIBUTESCONTAINER
      CLASS                = "{k}"
      OBJECT                 = ADDITIONALATTRIBUTENAME
        CLASS                = "{k}"
        NUM_VAL              = 1
        VALUE                = "{name}"
      END_OBJECT             = ADDITIONALATTRIBUTENAME
      GROUP                  = INFORMATIONCONTENT
        CLASS                = "{k}"
        OBJECT                 = PARAMETERVALUE
          NUM_VAL              = 1
          CLASS                = "{k}"
          VALUE                = "{val:02d}"
        END_OBJECT             = PARAMETERVALUE
      END_GROUP              = INFORMATIONCONTENT
    END_OBJECT             = ADDITIONALATTRIBUTESCONTAINER
"""
            for k, (name, val) in enumerate(
                (("HORIZONTALTILENUMBER", tile[0]), ("VERTICALTILENUMBER", tile[1])), 1
            )
        )
    return f"""
GROUP                  = INVENTORYMETADATA
  GROUPTYPE            = MASTERGROUP
  GROUP                  = ECSDATAGRANULE
    OBJECT                 = LOCALGRANULEID
      NUM_VAL              = 1
      VALUE                = "{granule_id}"
    END_OBJECT             = LOCALGRANULEID
    OBJECT                 = PRODUCTIONDATETIME
      NUM_VAL              = 1
      VALUE                = "{produced}"
    END_OBJECT             = PRODUCTIONDATETIME
  END_GROUP              = ECSDATAGRANULE
  GROUP                  = RANGEDATETIME
    OBJECT                 = RANGEBEGINNINGDATE
      NUM_VAL              = 1
      VALUE                = "{begin}"
    END_OBJECT             = RANGEBEGINNINGDATE
    OBJECT                 = RANGEENDINGDATE
      NUM_VAL              = 1
      VALUE                = "{end}"
    END_OBJECT             = RANGEENDINGDATE
  END_GROUP              = RANGEDATETIME
  GROUP                  = COLLECTIONDESCRIPTIONCLASS
    OBJECT                 = SHORTNAME
      NUM_VAL              = 1
      VALUE                = "{short_name}"
    END_OBJECT             = SHORTNAME
    OBJECT                 = VERSIONID
      NUM_VAL              = 1
      VALUE                = {version}
    END_OBJECT             = VERSIONID
  END_GROUP              = COLLECTIONDESCRIPTIONCLASS
  GROUP                  = ADDITIONALATTRIBUTES
{extra}
  END_GROUP              = ADDITIONALATTRIBUTES
END_GROUP              = INVENTORYMETADATA
END
"""


_DFNT = {
    "uint8": "DFNT_UINT8",
    "int8": "DFNT_INT8",
    "int16": "DFNT_INT16",
    "uint16": "DFNT_UINT16",
    "int32": "DFNT_INT32",
    "uint32": "DFNT_UINT32",
    "float32": "DFNT_FLOAT32",
}


def write_hdfeos2(
    path: os.PathLike[str],
    grids: list[dict],
    layers: dict[str, dict],
    global_attrs: dict[str, str] | None = None,
    split_struct: int | None = None,
) -> Path:
    """Write a small synthetic HDF-EOS2 granule with pyhdf.

    ``layers``: name → {"data": ndarray, "attrs": {...}}; each grid lists its field names in
    ``grid["fields"]`` (DFNT types are filled in from the arrays).  ``split_struct`` splits
    StructMetadata into ``.0``, ``.1``, ... chunks of that many characters, as HDF-EOS does for
    long metadata.
    """
    from pyhdf.SD import SD, SDC

    types = {
        "uint8": SDC.UINT8,
        "int8": SDC.INT8,
        "int16": SDC.INT16,
        "uint16": SDC.UINT16,
        "int32": SDC.INT32,
        "uint32": SDC.UINT32,
        "float32": SDC.FLOAT32,
    }
    for g in grids:
        g["fields"] = [(n, _DFNT[str(layers[n]["data"].dtype)]) for n in g["fields"]]
    path = Path(path)
    sd = SD(str(path), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    text = struct_metadata(grids)
    chunks = (
        [text]
        if not split_struct
        else [text[i : i + split_struct] for i in range(0, len(text), split_struct)]
    )
    for i, chunk in enumerate(chunks):
        sd.attr(f"StructMetadata.{i}").set(SDC.CHAR8, chunk)
    for key, val in (global_attrs or {}).items():
        sd.attr(key).set(SDC.CHAR8, val)
    for name, spec in layers.items():
        data = np.asarray(spec["data"])
        sds = sd.create(name, types[str(data.dtype)], data.shape)
        for key, val in spec.get("attrs", {}).items():
            if isinstance(val, str):
                sds.attr(key).set(SDC.CHAR8, val)
            elif isinstance(val, float):
                sds.attr(key).set(SDC.FLOAT64, val)
            else:
                vals = list(np.atleast_1d(val))
                sds.attr(key).set(
                    types[str(data.dtype)], [v.item() for v in np.asarray(vals, data.dtype)]
                )
        sds[:] = data
        sds.endaccess()
    sd.end()
    return path


@pytest.fixture
def tmp_copy(tmp_path):
    """Copy a real sample granule into tmp_path, optionally under another name."""

    def _copy(name: str, new_name: str | None = None) -> Path:
        dst = tmp_path / (new_name or name)
        shutil.copy(sample(name), dst)
        return dst

    return _copy
