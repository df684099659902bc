"""Options declared once, as dataclass fields: the command line and the recipe files
(``configs/*.toml``) are derived from them.

    @dataclass
    class Config:
        epochs: int = option(20, "epochs of the one-cycle schedule")

    add_arguments(parser, Config)              # --epochs N, with its help and default
    Config(**values(args, Config))             # recipe file (--config), then the flags given
"""

from __future__ import annotations

import argparse
import tomllib
import types
import typing
from dataclasses import MISSING, Field, field, fields
from pathlib import Path
from typing import Any


def option(default: Any, help: str, **argparse_options: Any) -> Any:
    """A dataclass field with its one-line help and argparse extras such as ``choices``;
    ``flag`` names its flag (default: from the field's name), ``flag=None`` leaves it off the
    command line."""
    return field(default=default, metadata={"help": help, **argparse_options})


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """``--config FILE`` and a flag per field of ``cls``. Flags not given stay unset, so that
    a recipe file's values stand unless the command line names them."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="a recipe: TOML of these options (configs/)"
    )
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        if flag is None:
            continue
        kind, extras = _argparse_kind(hints[f.name])
        options = {k: v for k, v in f.metadata.items() if k not in ("help", "flag")}
        parser.add_argument(
            flag,
            dest=f.name,
            default=argparse.SUPPRESS,
            help=f"{f.metadata['help']} (default: {_shown(f)})",
            **({"type": kind} if kind else {}),
            **extras,
            **options,
        )


def values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The options of ``cls`` from the recipe file ``args.config`` (if any), then from the
    flags given, converted to the fields' types. Raises ValueError for unknown keys."""
    chosen: dict[str, Any] = {}
    if getattr(args, "config", None):
        chosen = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
        unknown = set(chosen) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{args.config}: unknown options {', '.join(sorted(unknown))}")
    chosen |= {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
    hints = typing.get_type_hints(cls)
    return {name: _converted(value, hints[name]) for name, value in chosen.items()}


def _argparse_kind(hint: Any) -> tuple[Any, dict]:
    """(argparse ``type``, other argparse options) for a field's type."""
    hint = _without_none(hint)
    if hint is bool:
        return None, {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(hint) is tuple:
        items = typing.get_args(hint)
        return items[0], {"nargs": len(items), "metavar": ("MIN", "MAX")[: len(items)]}
    return hint, {}


def _converted(value: Any, hint: Any) -> Any:
    """A TOML or argparse value as the field's type: paths, tuples; None stays None."""
    hint = _without_none(hint)
    if value is None:
        return None
    if hint is Path:
        return Path(value)
    if typing.get_origin(hint) is tuple:
        return tuple(kind(v) for kind, v in zip(typing.get_args(hint), value, strict=True))
    if hint is float and isinstance(value, int):
        return float(value)
    return value


def _without_none(hint: Any) -> Any:
    """``X | None`` -> ``X``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        others = [a for a in typing.get_args(hint) if a is not type(None)]
        return others[0] if len(others) == 1 else hint
    return hint


def _shown(f: Field) -> str:
    default = f.default if f.default is not MISSING else None
    if isinstance(default, tuple):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in default)
    return "none" if default is None else str(default)
