"""Prose that cannot drift: every repository path that a comment, docstring or Markdown file names
exists, so a module that moves takes its mentions with it."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

TOP = "classify|ml|tests|accounts|classifier_site|bench|deploy|docs|templates|static|\\.ci"
PATH = re.compile(rf"(?<![\w./-])((?:{TOP})/[\w./-]*[\w/])")
# Named in prose on purpose although absent from a fresh clone: what commands make.
MADE = ("tests/artifacts", "var/")
# Paths in another repository, named where a fixture's source is credited.
ELSEWHERE = {"tests/samples/ASR"}


def named_paths() -> list[tuple[str, int, str]]:
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.html", "*.js", "*.toml", "Makefile", ".ci/run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = []
    for name in files:
        for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1):
            for match in PATH.finditer(line):
                found.append((name, number, match.group(1).rstrip(".")))
    return found


def exists(path: str) -> bool:
    """A file or folder of the repository, a template's name (templates/ is their root), or the
    start of file names (the Makefile's "ml/results/crossval-$(NETWORK)")."""
    if (ROOT / path).exists() or (ROOT / "templates" / path).exists():
        return True
    folder = (ROOT / path).parent
    return folder.is_dir() and any(p.name.startswith((ROOT / path).name) for p in folder.iterdir())


def test_every_repository_path_named_in_prose_exists():
    missing = [
        f"{name}:{number}: {path}"
        for name, number, path in named_paths()
        if not name.endswith("urls.py")  # URL patterns look like paths
        and not path.startswith(MADE)
        and path not in ELSEWHERE
        and not exists(path)
    ]
    assert missing == []
