"""The OME sections of a group's attributes, as data shared by the parser (``metadata/``) and the validator.

One list of section keys, one answer to "what kind of node is this?", one list of the sections that state their
own version before 0.5: the tolerant parser and the strict validator read these, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Every key of the OME metadata, in the order documents write them.
OME_KEYS = (
    "multiscales", "omero", "image-label", "labels", "plate", "well", "bioformats2raw.layout", "series", "scene",
)  # fmt: skip

#: The keys that make a group OME-NGFF, and the kind of node each means, in the order a kind is decided
#: (``omero`` alone makes nothing; a label image is an image with ``image-label``).
SECTION_KINDS: dict[str, str] = {
    "multiscales": "image",
    "image-label": "label image",
    "labels": "labels group",
    "plate": "plate",
    "well": "well",
    "bioformats2raw.layout": "collection",
    "series": "series list",
    "scene": "scene",
}

#: Plate row and column names (and so the two parts of a well path): letters and digits only, in every version.
#: Field paths inside a well follow the same pattern up to 0.5 (0.6rc0 widens them: formats/versions.py).
PLATE_NAME_PATTERN = r"[A-Za-z0-9]+"

#: Sections that state their own ``version`` in 0.4 and earlier, in the order detection consults them.
VERSIONED_SECTIONS = ("multiscales", "plate", "well", "image-label")


def kind_of(present: Iterable[str]) -> str | None:
    """The kind of node whose OME sections are ``present`` (a label image wins over an image), or None."""
    keys = set(present)
    if "image-label" in keys and "multiscales" in keys:
        return "label image"
    return next((kind for key, kind in SECTION_KINDS.items() if key in keys), None)
