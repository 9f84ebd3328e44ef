"""Template filters for how answers read: one percent rounding for every page and script."""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def percent(share: float | None) -> str:
    """0.925 -> "93": halves round up, as the pages' scripts (Math.round) do; Django's widthratio
    rounds them to even, so a clip read 93% in the upload list and 92% on its page."""
    if share is None:
        return "–"
    return str(math.floor(float(share) * 100 + 0.5))
