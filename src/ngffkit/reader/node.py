"""The base of every reader node: where it is and what its metadata says."""

from __future__ import annotations

from ngffkit.errors import redact
from ngffkit.formats import Format
from ngffkit.metadata import OMEMetadata
from ngffkit.reader.tables import TableInfo, read_tables
from ngffkit.store.location import Location


class Node:
    """Any OME-Zarr group: where it is and what its metadata says.

    Nodes are made by :func:`ngffkit.open` (and returned by the writers); a node is built from metadata already
    read, and its constructor does no I/O.

    :param location: where the group is (store and path).
    :param metadata: the group's parsed OME metadata.
    """

    kind = "node"

    def __init__(self, location: Location, metadata: OMEMetadata) -> None:
        self.location = location
        self.metadata = metadata

    @property
    def url(self) -> str:
        """The group's URL or path (what errors and reports name)."""
        return self.location.url

    @property
    def format(self) -> Format:
        """The NGFF format the metadata was read as."""
        return self.metadata.format

    @property
    def version(self) -> str:
        """The NGFF version the metadata was read as (``"0.4"``, ``"0.5"``, ...)."""
        return self.metadata.format.version

    @property
    def warnings(self) -> tuple[str, ...]:
        """What reading the metadata noticed but accepted (deprecated forms, aliases), one sentence each."""
        return self.metadata.warnings

    def tables(self) -> tuple[TableInfo, ...]:
        """The tables in this node's ``tables`` group, as ngio (fractal) writes them: name, type, backend and the
        number of rows where metadata gives it (see :mod:`ngffkit.reader.tables`); read now, on each call."""
        return read_tables(self.location)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {redact(self.url)} NGFF {self.version}>"
