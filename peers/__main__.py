"""Build the peers' environments up front: ``python -m peers build [--refresh] [NAME ...]``.

CI runs this in a timed stage of its own before the peer tests, so that no test pays for a build (and a registry
that is down fails here, with the reason, once). Prints each environment's build time -- "cached" when it was
already there -- and the releases it resolved; exits non-zero if any could not be built.
A cached environment is reported with the time its build took when it was made.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .envs import Unavailable, newest_python
from .recipes import by_names


def say(line: str) -> None:
    """One line of the report, at once (CI shows it while the next environment builds)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers", description="the peers' own environments")
    parser.add_argument("action", choices=["build"])
    parser.add_argument("names", nargs="*", help="peers to build (default: all)")
    parser.add_argument("--refresh", action="store_true", help="rebuild even when cached: today's releases")
    parser.add_argument("--json", action="store_true", help="one JSON object per peer instead of text")
    args = parser.parse_args(argv)
    try:
        chosen = by_names(args.names)
    except ValueError as error:
        parser.error(str(error))
    say(f"peers' Python: {newest_python()}")
    failed = 0
    start = time.perf_counter()
    for peer in chosen:
        began = time.perf_counter()
        try:
            built = peer.environment(refresh=args.refresh)
        except Unavailable as error:
            failed += 1
            say(f"{peer.name}: NOT BUILT: {error}")
            continue
        took = time.perf_counter() - began
        versions = peer.versions()
        if args.json:
            say(json.dumps({"peer": peer.name, "seconds": round(took, 1), "cached": built.cached,
                            "built_in": built.seconds, "versions": versions}))  # fmt: skip
        else:
            how = f"cached ({took:.1f} s; built in {built.seconds:.0f} s)" if built.cached else f"built in {took:.1f} s"
            say(f"{peer.name}: {how}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    say(f"{len(chosen) - failed} of {len(chosen)} environments ready in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
