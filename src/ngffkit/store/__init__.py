"""Where data lives: a path, URL or store object becomes a zarr store; documents are read and written there.

Every other room reaches storage through this one. It owns the unavoidable zarr/fsspec/aiohttp details,
decides which metadata paths are safe, keeps reads bounded, and marks writes in progress.
"""
