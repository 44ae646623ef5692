"""The sequencer's back-off while the database is away: 1 s, 2 s, 4 s, then every 5 s, never
a hot loop; a commit in this process (a poke: the database answers again) cuts what is left
of a back-off to a second, so the log resumes soon after the database returns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import cast

from ledger.errors import PushbackError
from ledger.store.log_port import LogStore
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer
from tests.conftest import TEST_ORIGIN


class _AwayThenBack:
    """The two calls a sequencer that does not lead makes of its log store: ``try_lead``
    fails while the database is away, then another process leads (stand by)."""

    def __init__(self) -> None:
        self.away = True
        self.attempts: list[float] = []

    async def try_lead(self) -> bool:
        self.attempts.append(time.monotonic())
        if self.away:
            raise PushbackError("the database is busy or unavailable; try again")
        return False

    async def resign(self) -> None:
        return None


async def test_a_commit_cuts_the_back_off_short_once_the_database_is_back(
        signer_keys: Path) -> None:
    store = _AwayThenBack()
    # only try_lead and resign are reached while it does not lead
    sequencer = Sequencer(cast(LogStore, store), load_signers(signer_keys, TEST_ORIGIN),
                          TEST_ORIGIN)
    stop = asyncio.Event()
    running = asyncio.create_task(sequencer.run(stop))
    try:
        await asyncio.sleep(3.3)  # attempts at 0, 1 and 3 s: backing off, no hot loop
        gaps = [b - a for a, b in zip(store.attempts, store.attempts[1:], strict=False)]
        assert len(store.attempts) == 3 and 0.9 < gaps[0] < 1.5 and 1.9 < gaps[1] < 2.5, gaps
        store.away = False
        poked = time.monotonic()
        sequencer.poke()  # a command committed: the database answers
        await asyncio.sleep(1.4)
        # without the poke the next attempt would come 4 s after the last one (at 7 s)
        assert len(store.attempts) == 4 and store.attempts[3] - poked < 1.2
    finally:
        stop.set()
        await running
