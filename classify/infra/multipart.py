"""Uploads named ".", ".." or "/" must not derail the multipart parser.

Django's MultiPartParser drops a file part whose name sanitises to nothing ("." , "..", "/")
with a bare `continue` that leaves the part's bytes unread, so the parser then reads the audio as
the next part's headers and fails with "Request max total header size exceeded" (Django 5.2,
django/http/multipartparser.py, MultiPartParser.parse). Giving such parts a neutral name keeps
them a file like any other; our own display name (classify.clips.intake.display_name) takes it from there.
Both the HTML form and DRF's MultiPartParser use Django's class, so one wrapper serves both.
"""

from __future__ import annotations

from django.http.multipartparser import MultiPartParser

UNNAMED = "recording"


def name_unnamed_uploads() -> None:
    original = MultiPartParser.sanitize_file_name
    if getattr(original, "names_unnamed", False):
        return

    def sanitize_file_name(self, file_name):
        return original(self, file_name) or UNNAMED

    sanitize_file_name.names_unnamed = True  # type: ignore[attr-defined]
    MultiPartParser.sanitize_file_name = sanitize_file_name  # type: ignore[method-assign]
    MultiPartParser.IE_sanitize = sanitize_file_name  # type: ignore[method-assign]
