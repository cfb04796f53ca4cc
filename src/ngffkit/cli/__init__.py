"""The ``ngffkit`` command: argument parsing, commands and everything printed for people (rich)."""
