"""bioformats2raw's OME-XML: the series names, and nothing an attacker can make the parser do."""

from __future__ import annotations

import pytest

from ngffkit import InvalidMetadata
from ngffkit.layer_data.arrange import Box, arrange, moved
from ngffkit.metadata.ome_xml import series_names

NS = b'xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"'


def test_names_in_document_order() -> None:
    xml = b"<OME " + NS + b'><Image ID="Image:0" Name="a"/><Plate/><Image ID="Image:1"/><Image Name="c"/></OME>'
    assert series_names(xml, where="x") == ["a", None, "c"]


@pytest.mark.parametrize(
    "xml",
    [
        b'<!DOCTYPE r [<!ENTITY a "xxxxxxxxxx"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><OME><Image Name="&b;"/></OME>',
        b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><OME><Image Name="&e;"/></OME>',
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><OME/>',
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><OME/>',
    ],
    ids=["entity expansion", "external entity", "external DTD", "parameter entity"],
)
def test_document_type_declarations_are_refused(xml: bytes) -> None:
    with pytest.raises(InvalidMetadata, match="DTD"):
        series_names(xml, where="scan.zarr/OME/METADATA.ome.xml")


def test_broken_xml_is_invalid_metadata() -> None:
    with pytest.raises(InvalidMetadata, match="not well-formed XML") as caught:
        series_names(b"<OME><Image></OME>", where="scan.zarr/OME/METADATA.ome.xml")
    assert caught.value.where == "scan.zarr/OME/METADATA.ome.xml"


def test_images_side_by_side_or_one_at_a_time() -> None:
    boxes = [Box(0.0, 0.0, 10.0, 20.0), Box(5.0, 0.0, 4.0, 4.0), Box(-1.0, 3.0, 2.0, 2.0)]
    placed = arrange(boxes)
    assert [offset for offset, _ in placed] == [(-1.0, 0.0), (-6.0, 21.0), (0.0, 23.0)]  # gap: 5% of 20
    assert all(shown for _, shown in placed)
    assert [shown for _, shown in arrange(boxes, "one at a time")] == [True, False, False]
    kwargs = {"scale": [2.0, 1.0, 1.0], "translate": [7.0, 1.0, 1.0], "visible": [True, True]}
    assert moved(kwargs, (1.0, 2.0), visible=False) == {"scale": [2.0, 1.0, 1.0], "translate": [7.0, 2.0, 3.0],
                                                        "visible": [False, False]}  # fmt: skip
