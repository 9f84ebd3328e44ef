"""Typed readers for settings from the environment: malformed values fail loudly at start-up."""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int, minimum: int | None = 0) -> int:
    """A whole number, at least `minimum` (None: any)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envfraction(name: str, default: float) -> float:
    """A number from 0 to 1 ("0.25")."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a fraction from 0 to 1, not {value!r}") from None
    if not 0 <= number <= 1:
        raise ImproperlyConfigured(f"{name} must be a fraction from 0 to 1, not {value!r}")
    return number


RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$", re.IGNORECASE)


def envrate(name: str, default: str) -> str:
    """A rate such as "120/hour" (per second, minute, hour or day), checked here so that a typo
    stops the start rather than the first request that uses it."""
    value = os.environ.get(name) or default
    if not RATE_PATTERN.match(value):
        raise ImproperlyConfigured(
            f'{name} must be a count per second, minute, hour or day such as "120/hour", not {value!r}'
        )
    return value


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
