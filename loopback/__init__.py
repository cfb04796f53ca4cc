"""Real servers on 127.0.0.1 for the test suite and the benchmarks.

A neutral package beside both, so that benchmarks never import the tests: an HTTP file server that records
every request and can add latency or faults, and helpers for moto's S3 server. Not shipped with ngffkit.
"""
