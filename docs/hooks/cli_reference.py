"""mkdocs hook: the command-line reference, generated from the ``ngffkit`` argument parser.

A page holding the line ``<!-- cli-reference -->`` gets, in its place, the help of ``ngffkit`` and of every
command, as argparse prints it (``ngffkit COMMAND --help``), so the page can never disagree with the program.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())


def render() -> str:
    from ngffkit.cli.main import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width; the page has one
    parser = build_parser()
    parts = ["## `ngffkit`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, command in _commands(parser).items():
        parts += [f"## `ngffkit {name}`", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public accessor for its subcommands
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
