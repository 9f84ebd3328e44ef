"""The one sweep of everything stale, for the scheduled task and the management command alike:
clips whose worker died (requeued, or failed after the last attempt), lost tasks, the files of
long-failed clips and of nothing, idle live sessions, abandoned resumable uploads."""

from __future__ import annotations

from dataclasses import dataclass, field

from classify.clips import removal, resumable, state
from classify.live import sessions


@dataclass
class Swept:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    purged: list[int] = field(default_factory=list)  # clips whose failed file was removed
    stored_orphans: list[str] = field(default_factory=list)
    temporary_orphans: list[str] = field(default_factory=list)
    idle_sessions: list[str] = field(default_factory=list)
    abandoned_uploads: int = 0

    def lines(self, dry_run: bool = False) -> list[str]:
        would = "would " if dry_run else ""
        return [
            f"{would}requeue {len(self.requeued)} clip(s): {self.requeued}",
            f"{would}fail {len(self.failed)} clip(s): {self.failed}",
            f"{would}remove the files of {len(self.purged)} failed clip(s): {self.purged}",
            f"{would}remove {len(self.stored_orphans)} stored file(s) with no clip and "
            f"{len(self.temporary_orphans)} abandoned temporary upload file(s)",
            f"{would}expire {len(self.idle_sessions)} idle live session(s)",
            f"{would}remove {self.abandoned_uploads} abandoned resumable upload(s)",
        ]


def sweep(dry_run: bool = False) -> Swept:
    outcome = state.sweep(dry_run=dry_run)
    orphans = removal.remove_orphans(dry_run=dry_run)
    return Swept(
        requeued=outcome["requeued"],
        failed=outcome["failed"],
        purged=removal.purge_failed_files(dry_run=dry_run),
        stored_orphans=orphans["stored"],
        temporary_orphans=orphans["temporary"],
        idle_sessions=sessions.sweep_idle(dry_run=dry_run),
        abandoned_uploads=resumable.sweep_abandoned(dry_run=dry_run),
    )
