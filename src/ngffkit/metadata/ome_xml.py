"""The series names in bioformats2raw's ``OME/METADATA.ome.xml`` -- untrusted XML, read defensively.

bioformats2raw writes the microscope file's OME-XML beside the series; its ``Image`` elements, in document
order, describe series 0, 1, 2, ... and carry the names a person knows them by. The XML comes from whoever made
the container: it is parsed with the standard library's expat with every DTD refused (no entity declarations,
so no "billion laughs" expansion; no external entities are ever fetched), after being read size-bounded by the
store (:mod:`ngffkit.store.limits`). Only the names are taken; nothing else of the document is trusted.
"""

from __future__ import annotations

from xml.parsers import expat

from ngffkit.errors import InvalidMetadata


class _Refused(Exception):
    pass


def series_names(document: bytes, *, where: str) -> list[str | None]:
    """The ``Name`` of every ``Image`` element in document order (None where an image has none).
    :class:`~ngffkit.InvalidMetadata` when the document is not well-formed XML or declares a DTD."""
    names: list[str | None] = []
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_dtd(*_: object) -> None:
        raise _Refused("a document type declaration (DTD) is not accepted here")

    def element(tag: str, attributes: dict[str, str]) -> None:
        if tag.rsplit(" ", 1)[-1] == "Image":
            names.append(attributes.get("Name") or None)

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = element
    try:
        parser.Parse(document, True)
    except _Refused as exc:
        raise InvalidMetadata(str(exc), where=where) from None  # our own refusal: its text is the message
    except expat.ExpatError as exc:
        raise InvalidMetadata(f"not well-formed XML ({expat.ErrorString(exc.code)}, line {exc.lineno})",
                              where=where) from exc  # fmt: skip
    return names
