"""How one environment variable is described and read: ``Variable`` (name, field, default,
help, parser) and the parsers it uses, each raising ``SettingsError`` with the variable's name."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


Parser = Callable[[str, str], Any]  # (variable name, text) -> value; raises SettingsError


def choice(options: tuple[str, ...]) -> Parser:
    def parse(name: str, value: str) -> str:
        if value not in options:
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(options)}")
        return value

    return parse


def _number(name: str, value: str, accept: Callable[[float], bool], expected: str) -> float:
    """A finite number that ``accept`` takes (nan is taken by no comparison)."""
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None
    if not accept(number) or number == float("inf"):
        raise SettingsError(f"{name}={value!r}: expected {expected}")
    return number


def positive_number(name: str, value: str) -> float:
    return _number(name, value, lambda number: number > 0, "a positive number")


def non_negative_number(name: str, value: str) -> float:
    return _number(name, value, lambda number: number >= 0, "a number, 0 or more")


def positive_int(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) <= 0:
        raise SettingsError(f"{name}={value!r}: expected a positive integer")
    return int(value)


def flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def text(name: str, value: str) -> str:
    return value


def bucket_list(name: str, value: str) -> frozenset[str]:
    buckets = frozenset(part.strip() for part in value.split(",") if part.strip())
    bad = sorted(b for b in buckets if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]", b))
    if bad:
        raise SettingsError(f"{name}: {bad[0]!r} is not a bucket name")
    return buckets


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str  # the environment variable
    field: str  # the settings field it fills
    default: str | None  # None: required; "": off
    help: str
    parse: Parser = text
    shown_default: str | None = None  # how the README shows the default, when not literally

    def read(self, environ: Mapping[str, str]) -> Any:
        value = environ.get(self.name)
        if value is None or value == "":
            value = self.default
        if value is None:
            raise SettingsError(f"{self.name} is required")
        return self.parse(self.name, value)
