"""Backup and restore of a whole ledger (``ledger backup``, ``ledger restore``).

A backup is a folder: ``manifest.json`` (``manifest``) and its parts, the database copied from
one snapshot while the service runs (``sqlite_copy``: SQLite's online backup API;
``postgres_dump``: pg_dump of an exported snapshot), the evidence files of a filesystem blob
store (``files``) and, only when asked, the signing key folder. ``folder`` writes it under a
temporary name, renamed into place when complete, and checks it against its manifest before
``restore`` trusts it. Whether the restored log still holds every event the published
checkpoints acknowledged is ``ledger verify --since-checkpoint``
(``ledger.transparency.extension``).
"""
