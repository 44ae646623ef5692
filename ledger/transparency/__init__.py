"""The transparency log in motion: keys, the sequencer, the read side and the full audit.

The pure algorithms live in ``ledger.tlog``; this package connects them to a ``LogStore``.
"""
