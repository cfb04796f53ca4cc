"""The base of every reader node: where it is and what its metadata says."""

from __future__ import annotations

from ngffkit.errors import redact
from ngffkit.formats import Format
from ngffkit.metadata import OMEMetadata
from ngffkit.reader.tables import TableInfo, read_tables
from ngffkit.store.location import Location


class Node:
    """Any OME-Zarr group: where it is and what its metadata says."""

    kind = "node"

    def __init__(self, location: Location, metadata: OMEMetadata) -> None:
        self.location = location
        self.metadata = metadata

    @property
    def url(self) -> str:
        return self.location.url

    @property
    def format(self) -> Format:
        return self.metadata.format

    @property
    def version(self) -> str:
        return self.metadata.format.version

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.metadata.warnings

    def tables(self) -> tuple[TableInfo, ...]:
        """The tables in this node's ``tables`` group, as ngio (fractal) writes them: name, type, backend and the
        number of rows where metadata gives it (see :mod:`ngffkit.reader.tables`); read now, on each call."""
        return read_tables(self.location)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {redact(self.url)} NGFF {self.version}>"
