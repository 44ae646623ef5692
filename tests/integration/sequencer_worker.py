"""A sequencer in its own process, for the crash test. Runs until killed:

    python -m tests.integration.sequencer_worker <dsn> <key dir> <origin> <batch size>
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from ledger.store.factory import log_store_for, open_store
from ledger.transparency.keys import load_signers
from ledger.transparency.sequencer import Sequencer


async def main(dsn: str, key_dir: str, origin: str, batch_size: int) -> None:
    store = await open_store(dsn)
    sequencer = Sequencer(log_store_for(store), load_signers(Path(key_dir), origin), origin,
                          batch_size=batch_size, poll_interval=0.005)
    print("sequencing", flush=True)
    await sequencer.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
