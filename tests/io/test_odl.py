"""The ODL parser on hand-written text and on every real sample file's metadata."""

from __future__ import annotations

import pytest
from conftest import sample_hdf4_files

from modisoft.io.odl import ODLSyntaxError, join_split_attribute, parse_odl


def test_nested_groups_objects_arrays_and_strings():
    text = """
GROUP                  = INVENTORYMETADATA
  GROUPTYPE            = MASTERGROUP
  GROUP                  = ECSDATAGRANULE
    OBJECT                 = LOCALGRANULEID
      NUM_VAL              = 1
      VALUE                = "MOD11A1.A2019305.h14v09.006.2019306084028.hdf"
    END_OBJECT             = LOCALGRANULEID
  END_GROUP              = ECSDATAGRANULE
  OBJECT                 = INPUTPOINTER
    NUM_VAL              = 2
    VALUE                = ("a b.hdf",
                            "c.hdf")
  END_OBJECT             = INPUTPOINTER
  OBJECT                 = NESTED
    VALUE                = ((1, 2), (3.5, -4e3))
  END_OBJECT             = NESTED
END_GROUP              = INVENTORYMETADATA
END
"""
    tree = parse_odl(text)
    inv = tree["INVENTORYMETADATA"]
    assert inv["GROUPTYPE"] == "MASTERGROUP"
    assert inv["ECSDATAGRANULE"]["LOCALGRANULEID"]["VALUE"] == (
        "MOD11A1.A2019305.h14v09.006.2019306084028.hdf"
    )
    assert inv["INPUTPOINTER"]["VALUE"] == ("a b.hdf", "c.hdf")
    assert inv["NESTED"]["VALUE"] == ((1, 2), (3.5, -4000.0))


def test_struct_metadata_style_and_types():
    text = (
        'GROUP=GridStructure\n\tGROUP=GRID_1\n\t\tGridName="G"\n\t\tXDim=1200\n'
        "\t\tUpperLeftPointMtrs=(-1111950.519667,6671703.118000)\n"
        "\t\tProjParams=(6371007.181000,0,0,0,0,0,0,0,86400,0,0,0,0)\n"
        "\t\tProjection=GCTP_SNSOID\n\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\nEND\n"
        + "\x00"
        * 50
    )
    g = parse_odl(text)["GridStructure"]["GRID_1"]
    assert g["GridName"] == "G" and g["XDim"] == 1200 and isinstance(g["XDim"], int)
    assert g["UpperLeftPointMtrs"] == (-1111950.519667, 6671703.118)
    assert g["ProjParams"][8] == 86400
    assert g["Projection"] == "GCTP_SNSOID"


def test_repeated_blocks_become_lists():
    text = (
        'GROUP=A\nOBJECT=C\nCLASS="1"\nEND_OBJECT=C\nOBJECT=C\nCLASS="2"\n'
        "END_OBJECT=C\nEND_GROUP=A\nEND"
    )
    assert parse_odl(text)["A"]["C"] == [{"CLASS": "1"}, {"CLASS": "2"}]


@pytest.mark.parametrize(
    "text, where",
    [
        ("GROUP=A\nX=1\n", "not closed"),
        ("GROUP=A\nX=1\nEND_GROUP=B\nEND", "does not match"),
        ("GROUP=A\nX=(1,2\nEND_GROUP=A\nEND", "unclosed"),
        ("GROUP=A\nX 1\nEND_GROUP=A", "expected '='"),
    ],
)
def test_syntax_errors_say_where(text, where):
    with pytest.raises(ODLSyntaxError, match=where):
        parse_odl(text)


def test_group_closed_by_end_object_with_the_same_name():
    """Real VIIRS CoreMetadata closes GROUP=MEASUREDPARAMETER with END_OBJECT=... ."""
    text = "GROUP = M\n  OBJECT = C\n    VALUE = 1\n  END_OBJECT = C\nEND_OBJECT = M\nEND"
    assert parse_odl(text) == {"M": {"C": {"VALUE": 1}}}
    with pytest.raises(ODLSyntaxError, match="does not close"):
        parse_odl("GROUP = M\nX = 1\nEND_OBJECT\nEND")


def test_join_split_attribute():
    attrs = {
        "StructMetadata.0": "GROUP=A\nX=",
        "StructMetadata.1": "(1,\n2)\nEND_GROUP=A\nEND",
        "Other": "x",
    }
    text = join_split_attribute(attrs, "StructMetadata")
    assert parse_odl(text) == {"A": {"X": (1, 2)}}
    assert join_split_attribute(attrs, "CoreMetadata") is None


@pytest.mark.parametrize("path", sample_hdf4_files(), ids=lambda p: p.name)
def test_every_sample_file_metadata_parses(path):
    from pyhdf.SD import SD

    attrs = SD(str(path)).attributes()
    for base in ("StructMetadata", "CoreMetadata", "ArchiveMetadata", "OldCoreMetadata"):
        text = join_split_attribute(attrs, base)
        if text is not None:
            tree = parse_odl(text)
            assert isinstance(tree, dict) and tree
