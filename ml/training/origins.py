"""Game audio or real-world recording, per source, from the corpus manifest's `origin`.

About half the corpus is audio shipped with games (Debian's games section, game mods); users do
not upload that, so models are chosen on the real-world half and reported on both.

A source is "game" when its origin is a Debian package of the games section, or a repository
that is a game or a game's mod. The Debian packages of the corpus that are not games (section
as `apt-cache show` gives it): asterisk's prompts and music on hold (comm), lmms (sound),
tuxpaint's stamps (graphics) and klettres (kde, an alphabet-learning program).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

GAME = "game"
REAL_WORLD = "real-world"
KINDS = (REAL_WORLD, GAME)
NON_GAME_DEBIAN = re.compile(r"^(asterisk-|lmms-|tuxpaint-|klettres-)")
GAME_REPOSITORIES = {
    "minetest-mirrors/mobs_animal",  # a Minetest mod's animal sounds
    "antummt/mod-sounds",  # a Minetest mod's sound pack
    "gheja/doggy-daycare",  # a browser game
    "ultrastar-deluxe/songs",  # a karaoke game's song pack
}


def origin_kind(origin: str) -> str:
    debian = re.match(r"Debian\s+(\S+)", origin)
    if debian:
        return REAL_WORLD if NON_GAME_DEBIAN.match(debian.group(1)) else GAME
    repository = re.match(r"([\w.-]+/[\w.-]+)@", origin)
    if repository and repository.group(1).lower() in GAME_REPOSITORIES:
        return GAME
    return REAL_WORLD


def source_kinds(corpus: str | Path) -> dict[str, str]:
    """ "<label>/<source>" -> "game" or "real-world" (the first origin a source's files name); empty
    for a corpus without a manifest, whose sources all count as real-world."""
    kinds: dict[str, str] = {}
    manifest = Path(corpus) / "manifest.csv"
    if not manifest.is_file():
        return kinds
    with manifest.open(newline="") as handle:
        for row in csv.DictReader(handle):
            parts = Path(row["path"]).parts
            if len(parts) >= 3:
                kinds.setdefault(f"{parts[0]}/{parts[1]}", origin_kind(row.get("origin", "")))
    return kinds
