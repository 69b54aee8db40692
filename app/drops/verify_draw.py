"""Recompute a draw from what was published: the revealed seed, the commitment shown while entries
were open, the number of units and the entry ids.

    python -m app.drops.verify_draw --seed SEED --commitment HASH --units N ENTRIES_FILE

ENTRIES_FILE holds the entry ids, one integer per line or a JSON list (``-`` reads standard input).
Prints ``{"commitment_ok": true, "order": [...], "winners": [...]}`` and exits 0; prints
``{"commitment_ok": false}`` and exits 1 when the seed does not match the commitment; exits 2 with
a one-line message on standard error when the input is not usable."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence

from app.drops.draw_rules import commitment, verify

_INTEGER_RE = re.compile(r"-?[0-9]+")


class BadInput(Exception):
    """Input the draw cannot be recomputed from; its message is the one line shown."""


def parse_entries(text: str) -> list[int]:
    """The entry ids in ``text``: a JSON list of integers, or one integer per line (blank lines
    are skipped). An id listed twice is refused, as the draw would refuse it."""
    if text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except ValueError as error:
            raise BadInput(f"the entries are not valid JSON: {error}") from None
        if not isinstance(values, list) or not all(type(value) is int for value in values):
            raise BadInput("the JSON entries must be a list of integers")
        ids: list[int] = values
    else:
        ids = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not (value := line.strip()):
                continue
            try:
                if not _INTEGER_RE.fullmatch(value):
                    raise ValueError(value)
                ids.append(int(value))  # a number of more than 4,300 digits raises ValueError too
            except ValueError:
                raise BadInput(f"line {number} is not an integer entry id: {value[:40]!r}") from None
    if len(set(ids)) != len(ids):
        raise BadInput("an entry id appears more than once")
    return ids


def _units(text: str) -> int:
    if not _INTEGER_RE.fullmatch(text) or int(text) < 0:
        raise argparse.ArgumentTypeError(f"not a whole number of units: {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.drops.verify_draw",
        description="Recompute a draw's order and winners from its revealed seed and published entries.",
    )
    parser.add_argument("--seed", required=True, help="the seed revealed after the entry window closed")
    parser.add_argument("--commitment", required=True, help="the SHA-256 shown while the window was open")
    parser.add_argument("--units", required=True, type=_units, help="how many units were drawn")
    parser.add_argument("entries", metavar="ENTRIES_FILE", help="entry ids, one per line or a JSON list; - for stdin")
    return parser


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read the entries: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; the exit status is 0 (recomputed), 1 (wrong seed) or 2 (bad input)."""
    args = _parser().parse_args(argv)
    try:
        ids = parse_entries(_read(args.entries))
        try:
            matches = commitment(args.seed) == args.commitment
        except UnicodeEncodeError:
            raise BadInput("the seed must be ASCII text") from None
    except BadInput as error:
        print(f"verify_draw: {error}", file=sys.stderr)
        return 2
    if not matches:
        print(json.dumps({"commitment_ok": False}))
        return 1
    result = verify(args.seed, args.commitment, ids, args.units)
    print(json.dumps({"commitment_ok": True, "order": list(result.order), "winners": list(result.winners)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
