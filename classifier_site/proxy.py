"""deploy/nginx.conf made ready to run: its @...@ values filled in (make run, the system tests and
the load bench run the same file that production runs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"


def upstream(address: str) -> str:
    """nginx's spelling of where a server listens: host:port, or unix:/path for a socket."""
    address = address.removeprefix("http://")
    return address if ":" in address and not address.startswith("/") else f"unix:{address}"


def write_config(run_dir: Path, web: str, events: str, listen: str) -> Path:
    """nginx.conf in `run_dir` (its logs and temporary files there too), listening on `listen`,
    passing requests to `web` and event streams to `events` (host:port or a socket path)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config = CONFIG.read_text()
    values = {
        "RUN_DIR": run_dir,
        "UPSTREAM": upstream(web),
        "EVENTS_UPSTREAM": upstream(events),
        "LISTEN": listen,
    }
    for name, value in values.items():
        config = config.replace(f"@{name}@", str(value))
    path = run_dir / "nginx.conf"
    path.write_text(config)
    return path


def command(config: Path) -> list[str] | None:
    """nginx in the foreground with `config` (as root, its workers stay root: the files are ours);
    None where nginx is not installed."""
    nginx = shutil.which("nginx")
    if nginx is None:
        return None
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    return [nginx, "-c", str(config), "-g", directives]
