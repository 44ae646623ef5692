"""Reading an exported evidence bundle in tests: its members, manifest and entries."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from ledger.bundle import layout as L


@dataclass(frozen=True)
class Bundle:
    """An exported ZIP, opened."""

    data: bytes

    @property
    def zip(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(io.BytesIO(self.data))

    def names(self) -> list[str]:
        return self.zip.namelist()

    def read(self, name: str) -> bytes:
        return self.zip.read(name)

    def manifest(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.read(L.MANIFEST))
        return document

    def entry_types(self) -> list[str]:
        """The event type of every entry, by path."""
        return [json.loads(self.read(n))["type"] for n in self.names()
                if n.startswith("entries/")]
