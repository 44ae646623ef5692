"""``ledger verify-bundle``'s checks: the steps of the bundle's own ``verify.py``, in the same
order and with the same messages (docs/bundle-format.md, "Verification"), over the ledger's own
code: signed notes, checkpoints and tlog-proofs through ``ledger.tlog`` (Ed25519 by
``cryptography``), entries through ``ledger.entry.decode_entry``, the case replayed through the
real aggregates (``ledger.aggregates.codec``), step 9 in full: ``report.html`` rendered
again and compared byte for byte, and the PDF's attached ``manifest.json``, and step 10 in
full: each RFC 3161 token's signature and certificate chain (ledger.timestamp.bundle_check).

The container (step 1), the manifest's shape and member list (step 2) and the attachments
(step 8) are read by ``verify.py``'s own functions: they use no cryptography but SHA-256.
Pure but for reading the bundle: the ``--against`` check (step 10) is the CLI's.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from eventsourcing.domain import Aggregate, EventSourcingError

from ledger.aggregates.codec import decode_event
from ledger.bundle import layout
from ledger.bundle.report import render_report_html, report_renderer
from ledger.bundle.report_cosign import cosignature_lines
from ledger.bundle.source import ReportSource
from ledger.bundle.verify import (
    MAX_TOTAL,
    Bundle,
    Check,
    Entry,
    NoteError,
    Primitives,
    Replayed,
    Verdict,
    WitnessKey,
    inspect_bundle,
    may_follow,
)
from ledger.canonical import encode_canonical, encode_canonical_checked, encode_sorted
from ledger.entry import Entry as LedgerEntry
from ledger.entry import decode_entry
from ledger.errors import InvalidInputError, VerificationError
from ledger.timestamp.bundle_check import check_token
from ledger.tlog.checkpoint import parse_checkpoint
from ledger.tlog.hashing import hash_leaf
from ledger.tlog.note import Verifier, open_note, parse_verifier_key
from ledger.tlog.proof import verify_inclusion
from ledger.tlog.proof_text import parse_tlog_proof
from ledger.witness.cosignature import WitnessKey as LedgerWitnessKey
from ledger.witness.cosignature import parse_witness_vkey


class LedgerPrimitives(Primitives):
    """The ledger's own implementations of what ``verify.py`` does with the standard library."""

    def __init__(self, tsa_roots: Sequence[x509.Certificate] = ()) -> None:
        self.decoded: dict[str, LedgerEntry] = {}
        # Streams replayed without a problem, by (type, id): the report is rendered again
        # from the same entries (step 9) and need not replay them a second time.
        self.replayed: dict[tuple[str, str], Aggregate] = {}
        self.tsa_roots = list(tsa_roots)
        self.checked_manifest: Any = None  # canonical, every key in the BMP (step 2)

    def parse_key(self, text: str) -> Verifier:
        try:
            return parse_verifier_key(text.strip())
        except InvalidInputError as e:
            raise ValueError(str(e)) from e

    def manifest(self, raw: bytes) -> Any:
        doc = json.loads(raw)
        try:
            encoded, bmp = encode_canonical_checked(doc)
        except InvalidInputError as e:
            raise ValueError(str(e)) from e
        canonical = encoded == raw
        if canonical and bmp:  # step 9 encodes a part of it again: no need to check it again
            self.checked_manifest = doc
        if not canonical:
            raise ValueError("not RFC 8785")
        return doc

    def open_note(self, note: bytes, key: Any) -> tuple[str, str]:
        try:
            opened = open_note(note, [key])
        except VerificationError as e:
            raise NoteError("malformed" if str(e).startswith("malformed") else "unsigned") from e
        return opened.text, opened.signatures[0].name

    def checkpoint(self, text: str) -> tuple[str, int, str]:
        try:
            checkpoint = parse_checkpoint(text)
        except InvalidInputError as e:
            raise ValueError(str(e)) from e
        return (checkpoint.origin, checkpoint.size,
                base64.b64encode(checkpoint.root_hash).decode())

    def parse_witness_key(self, text: str) -> WitnessKey:
        try:
            key = parse_witness_vkey(text)
        except InvalidInputError as e:
            raise ValueError(str(e)) from e
        return WitnessKey(key.name, key.key_id.to_bytes(4, "big"), key.public_key)

    def cosigned(self, key: WitnessKey, body: str, timestamp: int, signature: bytes) -> bool:
        try:
            return LedgerWitnessKey(key.name, key.public_key).verify(body, timestamp, signature)
        except InvalidInputError:
            return False

    def entry(self, path: str, raw: bytes) -> Entry:
        try:
            e = decode_entry(raw)
        except VerificationError as x:
            raise ValueError(str(x).removeprefix("malformed entry: ")) from x
        self.decoded[path] = e
        return Entry(path, e.stream_type, str(e.stream_id), e.version, e.event_type, e.payload,
                     e.prev.hex() if e.prev else None, e.event_hash.hex(), raw)

    def tlog_proof(self, data: bytes) -> tuple[int, list[bytes], bytes]:
        try:
            proof = parse_tlog_proof(data)
        except InvalidInputError as e:
            raise ValueError(str(e)) from e
        return proof.index, list(proof.proof), proof.signed_checkpoint

    def included(self, index: int, size: int, entry_hash: bytes, proof: Sequence[bytes],
                 root: bytes) -> bool:
        try:
            verify_inclusion(index, size, hash_leaf(entry_hash), proof, root)
        except VerificationError:
            return False
        return True

    def replay(self, departure: Sequence[Entry], items: Mapping[str, Sequence[Entry]]
               ) -> Replayed:
        problems: list[str] = []
        case = self._replay(departure, problems)
        states = {item_id: self._replay(entries, problems) for item_id, entries in items.items()}
        return Replayed(_state(case), {i: _state(a) for i, a in states.items()}, problems)

    def _replay(self, entries: Sequence[Entry], problems: list[str]) -> Aggregate | None:
        # The real aggregates' mutators give the states; which state an event may follow is
        # the table verify.py states (the aggregates' rules ran when the event was recorded).
        aggregate: Aggregate | None = None
        clean = len(problems)
        for e in entries:
            before = _state(aggregate)
            try:
                if not may_follow(e.event_type, before, e.payload):
                    raise VerificationError("out of order")
                aggregate = decode_event(self.decoded[e.path]).mutate(aggregate)
            except (VerificationError, TypeError, ValueError, KeyError, AttributeError):
                problems.append(f"{e.path}: {e.event_type} cannot follow the state "
                                f"{before or 'none'}")
        if aggregate is not None and len(problems) == clean:
            self.replayed[(entries[0].stream_type, entries[0].stream_id)] = aggregate
        return aggregate

    def report_checks(self, bundle: Bundle, manifest: Mapping[str, Any]) -> list[Check]:
        return [rerender_check(bundle, manifest, self.decoded, self.replayed),
                pdf_check(bundle, manifest, checked=manifest is self.checked_manifest)]

    def timestamp(self, token: bytes, chain: bytes | None, checkpoint: bytes,
                  record: Mapping[str, Any]) -> Check:
        return check_token(token, chain, checkpoint, record, self.tsa_roots)

    def timestamp_note(self) -> Check | None:
        return None

    def no_timestamp_note(self) -> Check | None:
        # Asked to check trusted time (--tsa-ca) and there is none: say so, not a silent PASS.
        if not self.tsa_roots:
            return None
        return Check("note", "timestamps: this bundle carries no RFC 3161 timestamp (its "
                             "checkpoint had none when it was exported): --tsa-ca checked "
                             "nothing; its times rest on the log's own clock")


def _state(aggregate: Aggregate | None) -> str | None:
    return None if aggregate is None else str(getattr(aggregate, "state", None))


def rerender_check(bundle: Bundle, manifest: Mapping[str, Any],
                   decoded: Mapping[str, LedgerEntry] | None = None,
                   replayed: Mapping[tuple[str, str], Aggregate] | None = None) -> Check:
    """``report.html`` rendered again from the entries is byte-identical to the bundle's.

    Only by the renderer the manifest records (``report_renderer``, format 1.1): another
    version of the generator or of the libraries may print other bytes from the same entries,
    so then the check says it was not made (step 9's source digest still was). A manifest
    without it (format 1.0) is compared byte for byte, as that format promised. ``decoded``:
    the entries step 5 decoded, by path (not decoded again); ``replayed``: the streams step 7
    replayed (not replayed again).
    """
    recorded = manifest.get("report_renderer")
    ours = report_renderer()
    if recorded is not None and recorded != ours:
        return Check("note", "report.html: not rendered again: it was printed by "
                             f"{renderer_text(recorded)}, this verifier renders with "
                             f"{renderer_text(ours)}, which may print other bytes; its source "
                             "digest was checked above. Compare its bytes with a ledger of "
                             "that renderer")
    files = bundle.files
    source = ReportSource(
        departure_id=manifest["departure_id"], generated_at=manifest["generated_at"],
        status=manifest["status"], time_zone=manifest["time_zone"],
        checkpoint=files[layout.CHECKPOINT],
        keys=files.get(layout.KEYS, b"").decode("utf-8", "replace").splitlines(),
        entries={p: d for p, d in files.items() if p.startswith("entries/")},
        report_source_sha256=manifest["report_source_sha256"],
        timestamps=tuple((t["gen_time"], t["tsa_url"]) for t in manifest.get("timestamps", [])),
        cosignatures=cosignature_lines(files.get(layout.COSIGNATURES, b"")))
    try:
        rendered = render_report_html(source, decoded=decoded, replayed=replayed)
    except (VerificationError, ValueError, EventSourcingError):
        # Entries the report cannot be made from (a stream cut short, an item missing, a
        # malformed entry; the earlier steps name what is wrong with them): not its source.
        # EventSourcingError: the aggregates refuse a stream with a version missing.
        return Check("FAIL", "report.html: not produced from these entries")
    if rendered != files.get(layout.REPORT_HTML):
        return Check("FAIL", "report.html: not produced from these entries")
    return Check("ok", "report.html: rendered again from the entries, byte for byte the same")


def renderer_text(renderer: Mapping[str, str]) -> str:
    """``report generator 1, jinja2 3.1.6, ...``: a recorded renderer, in one line."""
    return ", ".join(f"{'report generator' if k == 'generator' else k} {v}"
                     for k, v in sorted(renderer.items(), key=lambda kv: kv[0] != "generator"))


def content_manifest(manifest: Mapping[str, Any], *, checked: bool = False) -> bytes:
    """The manifest without the ``report.pdf`` record, RFC 8785 (docs/bundle-format.md).
    ``checked``: the manifest was found canonical with every key in the BMP
    (``encode_canonical_checked``), so a part of it needs no check."""
    files = [f for f in manifest["files"] if f["path"] != layout.REPORT_PDF]
    content = {**manifest, "files": files}
    return encode_sorted(content) if checked else encode_canonical(content)


def pdf_check(bundle: Bundle, manifest: Mapping[str, Any], *, checked: bool = False) -> Check:
    """``report.pdf`` carries the content manifest as its attached ``manifest.json``."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        attached = PdfReader(io.BytesIO(bundle.files.get(layout.REPORT_PDF, b""))).attachments
        found = attached.get(layout.CONTENT_MANIFEST_NAME, [])
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError):
        found = []
    if content_manifest(manifest, checked=checked) not in found:
        return Check("FAIL", "report.pdf: not produced from this manifest")
    return Check("ok", "report.pdf: carries this manifest (without its own record) as "
                       "manifest.json")


def verify_bundle(path: Path, key_text: str, *, max_total: int = MAX_TOTAL,
                  max_ratio: int | None = None,
                  tsa_roots: Sequence[x509.Certificate] = (), witnesses: Sequence[str] = (),
                  required: int | None = None) -> Verdict:
    """Steps 1 to 10 over the ledger's own code (a ZIP unzipping to at most ``max_total``
    bytes; RFC 3161 tokens checked against ``tsa_roots``, else the CA the bundle carries),
    with the witness policy "``required`` of ``witnesses``" when given; ValueError for a
    malformed key or a policy that cannot be met (usage)."""
    return inspect_bundle(path, key_text, LedgerPrimitives(tsa_roots), max_total=max_total,
                          max_ratio=max_ratio, witnesses=witnesses, required=required)
