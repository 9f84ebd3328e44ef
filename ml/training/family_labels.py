"""The family of every corpus file (ml/families.py), from its source and its file name.

The corpus's manifest says only music, speech or noise. Its file names are descriptive
("rain.ogg", "sounds_airplane_prop.ogg", "mammals_aquatic_whale.ogg"), so a family is read from
the first keyword rule the name matches, else the source's default, else the class's catch-all.
The rules are data: edit them here, then `python -m ml.training.family_labels --corpus DIR` prints
the table per family and the files each rule caught.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ml.families import FAMILY_CLASS
from ml.training.data import CorpusFile, scan_corpus

# Sources whose every file is one family (a rule on the name still wins for noise).
SOURCE_FAMILY: dict[str, str] = {
    "music/vocadito-singing": "singing",
    "music/dagstuhl-choirset": "singing",
    "music/openair-operatic-voice": "singing",
    "music/usdx-cc-songs": "singing",
    "noise/tuxpaint-animals": "animals",
    "noise/frog-call-trainer-frogs": "animals",
    "noise/doggy-daycare-dogs": "animals",
    "noise/mobs-animal-farm": "birds",
    "noise/qut-ecoacoustics-field": "birds",
    "noise/opensoundscape-field": "birds",
    "noise/torcs-cars": "vehicles",
    "noise/warmux-weapons": "impacts",
    "noise/ufoai-weapons": "impacts",
    "noise/scorched3d-weapons": "impacts",
    "noise/netpanzer-sfx": "impacts",
    "noise/chromium-bsu-sfx": "impacts",
    "noise/foobillardplus-billiards": "impacts",
    "noise/caveexpress-water": "water-weather",
    "noise/jtg-soundscapes": "water-weather",
}

# (family, pattern) in order; the first match on the file's name (lower case) wins.
NAME_RULES: tuple[tuple[str, str], ...] = (
    ("singing", r"sing|vocal|choir|voice|sopran|tenor|opera"),
    (
        "birds",
        r"hawk|raven|gryphon|bird|chirp|owl|crow|duck|hen[s_.]|chicken|rooster|seagull|gull|tweet|songbird|parrot|pigeon",
    ),
    (
        "animals",
        r"dog|cat[s_.]|meow|cow|sheep|wolf|horse|pig|frog|toad|peeper|bat[_.]|bison|whale|orca|mammal|"
        r"insect|cricket|bee[s_.]|monkey|lion|bear|elephant|goat|howl|bark|growl|roar|snake|hiss|moo|"
        r"animal|creature|bug|fly[_.]|mosquito|mouse|rat[_.]|squeak|spadefoot|grouse|drum",
    ),
    ("crowd", r"crowd|cheer|applause|clap|audience|tavern|chatter|people|party|stadium"),
    (
        "alarms",
        r"alarm|siren|bell|beep|ring|clock|chime|horn|buzzer|whistle|warning|notify|ding|gong|tick",
    ),
    (
        "water-weather",
        r"rain|sea[_.]|ocean|wave|river|stream|water|wind|thunder|storm|lightning|drip|lake|splash|"
        r"tap|bubbl|lava|fire|flame|burn|weather|shore|surf|ambien|forest|nature|cave",
    ),
    (
        "vehicles",
        r"flyby|f1[68]_|cessna|apache|hover|hov(move|start|stop)|ugv|car[s_.]|engine|traffic|train|plane|aircraft|airplane|jet|heli|vtol|truck|bus[_.]|ship|"
        r"boat|tank|rocket|kart|vehicle|motor|tflight|flying|flight|takeoff|cart|tram|subway|moto|"
        r"nitro|race|skid|brake",
    ),
    (
        "impacts",
        r"expl|hit|knock|gun|shot|bullet|shoot|cannon|break|glass|crash|fall|door|impact|smash|"
        r"punch|bomb|grenade|missile|launch|bang|slam|thud|step|foot|land|bounce|ball|hammer|"
        r"chop|woodcut|fight|melee|attack|sword|weapon|fire[_.]|blast|laser|reload|molotov|collapse|"
        r"destroy|die|death|hurt|pain|throw|drop|roll|slide|sink|splat",
    ),
    (
        "machines",
        r"machine|tool|drill|saw|hum|fan[_.]|typing|keyboard|dish|bike|mining|factory|appliance|"
        r"printer|pump|generator|motor|mill|clank|gear|servo|robot|cyber|computer|elevat|build|"
        r"construct|crane|lift|vacuum|blender|washing|snor",
    ),
)
_COMPILED = tuple((family, re.compile(pattern)) for family, pattern in NAME_RULES)
CATCH_ALL = {"music": "instrumental", "speech": "speech", "noise": "other-noise"}


def family_of(corpus_file: CorpusFile) -> str:
    """The file's family, always one of its class's (speech is speech; music is singing only by
    its source or name)."""
    if corpus_file.label == "speech":
        return "speech"
    name = corpus_file.path.stem.lower() + "."  # so "[_.]" also ends a word at the end
    by_source = SOURCE_FAMILY.get(corpus_file.source)
    if corpus_file.label == "music":
        if by_source:
            return by_source
        return "singing" if _COMPILED[0][1].search(name) else "instrumental"
    for family, pattern in _COMPILED:
        if FAMILY_CLASS[family] == "noise" and pattern.search(name):
            return family
    return by_source or CATCH_ALL[corpus_file.label]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--show", help="list the files of this family")
    args = parser.parse_args(argv)
    files = scan_corpus(args.corpus)
    counts: Counter[str] = Counter()
    sources: dict[str, set[str]] = {}
    for corpus_file in files:
        family = family_of(corpus_file)
        counts[family] += 1
        sources.setdefault(family, set()).add(corpus_file.source)
        if args.show == family:
            print(corpus_file.source, corpus_file.path.name)
    for family in FAMILY_CLASS:
        print(f"{family:14s} {counts[family]:5d} files {len(sources.get(family, ())):3d} sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
