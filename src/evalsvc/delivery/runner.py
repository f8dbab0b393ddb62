"""Starting deliveries from a request: in the serving process, after the answer's commit.

Deliveries run as tasks of the serving process's event loop; an invitation left pending by
a stop is sent by the next "send the waiting invitations" or re-send.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar.datastructures import State

from evalsvc.delivery.invitations import deliver_emails
from evalsvc.delivery.mail import mailer_for
from evalsvc.domain.ballots import BallotKeys
from evalsvc.keyring import ballot_keys
from evalsvc.settings import Settings

log = logging.getLogger(__name__)


def keys_of(state: State) -> BallotKeys:
    """The HMAC subkeys, derived once per app from the settings (or the persisted key)."""
    keys: BallotKeys | None = state.get("ballot_keys")
    if keys is None:
        settings: Settings = state.settings
        keys = state.ballot_keys = ballot_keys(settings)
    return keys


def start_delivery(state: State, round_id: int, voter_ids: list[int] | None = None) -> None:
    settings: Settings = state.settings
    work = deliver_emails(
        state.pool.acquire,
        keys_of(state),
        mailer_for(settings),
        settings.base_url,
        settings.smtp_from,
        round_id,
        voter_ids,
    )
    task = asyncio.get_running_loop().create_task(_logged(work, round_id))
    # Held here so the task is not garbage-collected while it runs.
    running: set[asyncio.Task[Any]] | None = state.get("deliveries")
    if running is None:
        running = state.deliveries = set()
    running.add(task)
    task.add_done_callback(running.discard)


async def _logged(work: Any, round_id: int) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        # Statuses stay 'pending' for what was not sent: the page offers to send them.
        log.exception("delivery of round %s stopped", round_id)
