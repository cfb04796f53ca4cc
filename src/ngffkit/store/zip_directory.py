"""An archive's central directory as numpy columns (:class:`Layout`), made once per archive: what bulk reads
(:mod:`ngffkit.store.zip_entries`) look entries up in, instead of record by record; and how an entry's name and
sizes stand in its records (shared with the validator's layout checks, :mod:`ngffkit.store.zip_layout`)."""

from __future__ import annotations

import itertools
import operator
import zipfile

import numpy as np

from ngffkit.store import adapter

#: Flag bits of an entry read only by ``zipfile``: encrypted (0), and compressed patched data (5) and strong
#: encryption (6), which ``zipfile`` refuses to read.
NOT_BULK_FLAGS = 1 | 1 << 5 | 1 << 6
#: The flag bit saying a header's name is UTF-8 (else cp437): ``zipfile`` decodes the local name so and compares
#: the text with the central directory's.
UTF8_FLAG = 0x800
#: What a column holds for a ZIP64 value past int64 (2**64 - 1 fits no numpy int64): past any file and any size
#: limit, and far enough from int64's end that adding a header's length to it cannot wrap around.
CLIPPED = 2**62


def raw_name(info: zipfile.ZipInfo) -> bytes:
    """An entry's name as its headers hold it (what zipfile compares the local header's name with)."""
    name = info.orig_filename
    if name.isascii():  # the same bytes in either encoding, and much faster to encode
        return name.encode("ascii")
    return name.encode("utf-8" if info.flag_bits & UTF8_FLAG else "cp437")


class Layout:
    """An archive's central directory as numpy columns, made once per archive (bulk reads look entries up here,
    not record by record): each entry's offset, sizes, CRC, whether it is a stored entry, a folder, its folder
    and its name as its headers hold it; where the entries begin, sorted and distinct, and the file's size --
    what an entry's place is checked against (within the file, ending before the next entry begins, as zipfile
    orders them)."""

    def __init__(self, archive: zipfile.ZipFile, size: int) -> None:
        infos = archive.infolist()
        count = len(infos)
        self.infos = infos
        self.size = size
        fields = operator.attrgetter("header_offset", "compress_size", "file_size", "CRC", "compress_type", "flag_bits")
        try:
            values = itertools.chain.from_iterable(map(fields, infos))
            table = np.fromiter(values, dtype=np.int64, count=6 * count)
        except OverflowError:  # a ZIP64 value past int64: clipped (the entry is then refused by its info's value)
            values = itertools.chain.from_iterable(map(fields, infos))
            table = np.fromiter((min(value, CLIPPED) for value in values), dtype=np.int64, count=6 * count)
        columns = np.ascontiguousarray(table.reshape(count, 6).T)
        self.header_offset, self.compress_size, self.file_size, self.crc, method, flags = columns
        # what classify reads in bulk: no zip compression, no encryption (nor what zipfile refuses), sizes that agree
        self.stored = (
            (method == zipfile.ZIP_STORED) & (self.compress_size == self.file_size) & (flags & NOT_BULK_FLAGS == 0)
        )
        self.utf8 = (flags & UTF8_FLAG != 0).astype(np.uint8)
        filenames = [info.filename for info in infos]
        # zipfile's NameToInfo: the last record of a name is the one read by that name
        self.index = dict(zip(filenames, range(count), strict=True))
        folders = [name.rpartition("/")[0] for name in filenames]
        numbers = dict.fromkeys(folders, 0)
        for number, folder in enumerate(numbers):
            numbers[folder] = number
        self.folder = np.fromiter(map(numbers.__getitem__, folders), dtype=np.int64, count=count)
        originals = [info.orig_filename for info in infos]
        joined = "".join(originals)
        if joined.isascii():  # the same bytes in either encoding, and much faster to encode
            raw = joined.encode("ascii")
            lengths = np.fromiter(map(len, originals), dtype=np.int64, count=count)
            #: names whose local header's UTF-8 flag does not matter (ASCII: the same text either way)
            self.ascii = np.ones(count, dtype=bool)
        else:
            names = [raw_name(info) for info in infos]
            raw = b"".join(names)
            lengths = np.fromiter(map(len, names), dtype=np.int64, count=count)
            self.ascii = np.fromiter(map(str.isascii, originals), dtype=bool, count=count)
        self.names = np.frombuffer(raw, dtype=np.uint8)
        self.name_length = lengths
        self.name_start = np.cumsum(lengths) - lengths
        # Where each entry must end, as zipfile computes it: the records by offset, highest first and records of
        # one offset in their order, each ending where the one before it begins -- so of several records at one
        # offset all but the first end where they begin (overlapping). The first of them all ends where the
        # central directory begins; when that is not known (``final``), zipfile reads it, checking that.
        descending = np.argsort(-self.header_offset, kind="stable")
        self.end = np.empty(count, dtype=np.int64)
        self.end[descending[1:]] = self.header_offset[descending[:-1]]
        self.final = np.zeros(count, dtype=bool)
        if count:
            last, directory = descending[0], adapter.zip_central_directory_start(archive)
            if directory is not None and self.header_offset[last] <= directory <= size:
                self.end[last] = directory
            else:
                self.final[last] = True

    def rows(self, keys: list[str]) -> np.ndarray:
        """The row of each key's record (-1: no such entry)."""
        get = self.index.get
        return np.fromiter((get(key, -1) for key in keys), dtype=np.int64, count=len(keys))
