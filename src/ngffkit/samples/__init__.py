"""Offline sample data: arrays (:mod:`~ngffkit.samples.data`) and example datasets written from them
(:mod:`~ngffkit.samples.examples`)."""
