"""Reloading the scenario file of a running server when it changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ScenarioError, SettingsError
from ..settings import Settings
from .apply import install_scenario
from .loader import load_scenario
from .model import Scenario

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["WATCH_INTERVAL", "watch_scenario"]

log = logging.getLogger("mockserver.scenario")

# Seconds between two checks of the file's modification time and size.
WATCH_INTERVAL = 0.5

_Stamp = tuple[int, int] | None


def _stamp(path: Path) -> _Stamp:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


async def watch_scenario(
    session: Session,
    path: Path,
    rebuild: Callable[[Scenario], Settings],
    interval: float = WATCH_INTERVAL,
) -> None:
    """Poll ``path`` and load the scenario into ``session`` each time it changes.

    An invalid file is logged at ERROR and the running scenario stays. Runs until
    cancelled.
    """
    log.info("Watching %s for changes every %gs", path, interval)
    last = _stamp(path)
    while True:
        await asyncio.sleep(interval)
        current = _stamp(path)
        if current == last:
            continue
        last = current
        if current is None:
            log.error(
                "Scenario file %s is gone; keeping scenario %r",
                path,
                session.scenario.name,
            )
            continue
        await reload_scenario(session, path, rebuild)


async def reload_scenario(
    session: Session, path: Path, rebuild: Callable[[Scenario], Settings]
) -> bool:
    """Load ``path`` into ``session``; on failure log why and keep the running one.

    The file is read and checked in a worker thread. A running update finishes
    first, because the new scenario replaces the devices it syncs.
    """
    try:
        scenario = await asyncio.to_thread(load_scenario, path)
        settings = rebuild(scenario)
    except (ScenarioError, SettingsError) as exc:
        log.error(
            "Scenario file %s changed but is invalid; keeping scenario %r:\n%s",
            path,
            session.scenario.name,
            exc,
        )
        return False
    # Every update ends within its devices' timeouts, so this wait ends too.
    while session.store.is_busy:
        await asyncio.sleep(WATCH_INTERVAL / 5)
    install_scenario(session, settings)
    return True
