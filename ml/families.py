"""Families of sounds under the three classes: what a segment of music, speech or noise is.

A family always belongs to its segment's class (FAMILY_CLASS), so a family never contradicts the
timeline. The serving path (ml/layers.py) chooses a segment's family among its class's families
only.
"""

from __future__ import annotations

FAMILY_CLASS: dict[str, str] = {
    "singing": "music",
    "instrumental": "music",
    "speech": "speech",
    "animals": "noise",
    "birds": "noise",
    "crowd": "noise",  # crowds, cheering, applause, chatter of many
    "vehicles": "noise",  # engines, traffic, aircraft, trains, boats
    "water-weather": "noise",  # rain, sea, streams, wind, thunder
    "alarms": "noise",  # sirens, bells, beeps, ringing
    "machines": "noise",  # tools, appliances, motors that are not vehicles
    "impacts": "noise",  # knocks, hits, explosions, gunshots, breaking
    "other-noise": "noise",
}
FAMILIES = tuple(FAMILY_CLASS)


def families_of(class_name: str) -> tuple[str, ...]:
    return tuple(family for family, owner in FAMILY_CLASS.items() if owner == class_name)
