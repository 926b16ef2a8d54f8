"""Option parsing the command modules share."""

from __future__ import annotations

import click


def parse_overrides(overrides: tuple[str, ...]) -> dict:
    """``--set KEY=VALUE`` pairs; a value is parsed as JSON when it can be, else kept as a string."""
    import json

    values = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values
