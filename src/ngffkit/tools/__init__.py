"""Jobs built on the reader, writer and validator: info, finder, csv-to-labels, convert, scale, download,
upgrade, serve. They return data; printing belongs to :mod:`ngffkit.cli`."""
