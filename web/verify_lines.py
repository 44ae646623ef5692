"""The Verify page's check lines in the reader's language.

``ledger verify-bundle`` (ledger.bundle.verify, the one file every bundle carries) prints its
lines in English, each ``<subject>: <finding>``; the console shows the same findings through
the catalogues. Each msgid below is one line's shape, its values (a path, a count, a key's
name) as ``%(name)s``; the line is matched against the msgid read as a pattern, and the
translation filled with what the line said. A line of no known shape is shown as printed (a
new verifier line appears in English until it is added here; tests/e2e/console's Verify
tests fail on one in a real bundle's check).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from web.i18n import N_
from web.labels import DEPARTURE_STATE_LABELS, ITEM_STATE_LABELS

SHAPES = (
    # what passed (steps 1 to 9, as verifier.py and verify.py word them)
    N_("container: %(num)s members, safe paths, mimetype holds the media type"),
    N_("manifest: bundle_format 1, %(num)s files listed with their sizes and SHA-256, "
       "none unlisted"),
    N_("signature: %(signer)s signed this manifest of departure %(departure)s"),
    N_("checkpoint: %(origin)s at size %(size)s, signed by %(signer)s"),
    N_("entries: %(entries)s entries in %(streams)s streams, canonical, chained from "
       "version 1 to the manifest's heads"),
    N_("proofs: %(num)s inclusion proofs verify against the checkpoint "
       "(RFC 9162 section 2.1.3.2)"),
    N_("case: departure %(state)s, %(items)s items (%(confirmed)s confirmed, %(waived)s "
       "waived), %(templates)s template revision(s), %(disputes)s dispute(s)"),
    N_("attachments: %(num)s files, each named by its SHA-256 and cited by an entry"),
    N_("attachments: none in this bundle"),
    N_("report.html: carries the digest of the entries it was rendered from (%(digest)s)"),
    N_("report.html: rendered again from the entries, byte for byte the same"),
    N_("report.pdf: carries this manifest (without its own record) as manifest.json"),
    N_("report.html: not rendered again: it was printed by %(recorded)s, this verifier "
       "renders with %(ours)s, which may print other bytes; its source digest was checked "
       "above. Compare its bytes with a ledger of that renderer"),
    N_("%(path)s: a file manager's own file, not checked"),
    # step 10, RFC 3161 timestamps (format 1.2): verify.py's line and note, the ledger's lines
    N_("%(path)s: the checkpoint, and so every event of this bundle, was recorded no later "
       "than %(time)s, by TSA %(tsa)s (its message imprint and time checked)"),
    N_("timestamps: verify.py checked each token's message imprint and time, NOT the "
       "authority's signature or certificate chain; `ledger verify-bundle --key <vkey> "
       "[--tsa-ca <CA file>] BUNDLE` checks them"),
    N_("%(path)s: the checkpoint, and so every event of this bundle, was recorded no later "
       "than %(time)s, by TSA %(tsa)s (%(subject)s; signature and certificate chain checked "
       "against the CA file given)"),
    N_("%(path)s: the checkpoint, and so every event of this bundle, was recorded no later "
       "than %(time)s, by TSA %(tsa)s (%(subject)s; signature and certificate chain checked "
       "against the CA certificate the bundle carries (give --tsa-ca to check it against one "
       "you trust))"),
    # what failed
    N_("mimetype: must be the first member, stored, holding %(media_type)s"),
    N_("%(path)s: too large"),
    N_("%(path)s: unsafe path"),
    N_("%(path)s: duplicate name"),
    N_("%(path)s: is a link"),
    N_("%(path)s: is a directory entry"),
    N_("%(path)s: damaged (its bytes fail the ZIP's checks)"),
    N_("%(path)s: missing"),
    N_("%(path)s: not canonical JSON"),
    N_("%(path)s: malformed"),
    N_("%(path)s: malformed (%(detail)s)"),
    N_("%(path)s: size differs from the manifest"),
    N_("%(path)s: SHA-256 differs from the manifest"),
    N_("%(path)s: not listed in the manifest"),
    N_("%(path)s: not signed by the given key"),
    N_("%(path)s: does not name this departure and manifest"),
    N_("%(path)s: differs from the manifest"),
    N_("%(path)s: not a canonical entry (%(detail)s)"),
    N_("%(path)s: stream or version differs from its path"),
    N_("%(path)s: stream not listed in the manifest"),
    N_("%(path)s: version %(version)s is missing"),
    N_("%(path)s: prev is not the hash of the previous version"),
    N_("%(path)s: head differs from the manifest"),
    N_("%(path)s: checkpoint differs from the bundle's"),
    N_("%(path)s: inclusion proof does not verify"),
    N_("%(path)s: item of the departure is missing"),
    N_("%(path)s: belongs to another departure"),
    N_("%(path)s: applied template revision %(revision)s is missing"),
    N_("%(path)s: dispute is missing"),
    N_("%(path)s: %(event)s cannot follow the state %(state)s"),
    N_("%(path)s: final, but the departure is %(state)s"),
    N_("%(path)s: close counts differ from the items (the close says items %(said)s, "
       "confirmed %(said_confirmed)s, waived %(said_waived)s; the items replay to "
       "%(items)s, %(confirmed)s, %(waived)s)"),
    N_("%(path)s: SHA-256 differs from its name"),
    N_("%(path)s: no entry cites it"),
    N_("%(path)s: not produced from these entries"),
    N_("%(path)s: not produced from this manifest"),
    N_("%(path)s: message imprint is not the checkpoint's"),
    N_("%(path)s: time differs from the manifest"),
    N_("%(path)s: does not verify (%(detail)s)"),
    # the last line
    N_("PASS: %(status)s bundle of departure %(departure)s, %(entries)s entries in the log "
       "%(origin)s at size %(size)s"),
    N_("FAIL: %(num)s problem(s)"),
)
STATUS_LABELS = {"ok": N_("ok"), "FAIL": N_("FAIL"), "note": N_("note")}
BUNDLE_STATUS_LABELS = {"final": N_("final"), "interim": N_("interim")}
_VALUE = re.compile(r"%\((\w+)\)s")
# values that are codes the console names: a departure's or an item's state, a bundle's status
_STATES = {**ITEM_STATE_LABELS, **DEPARTURE_STATE_LABELS}
_CODES = {"state": _STATES, "status": BUNDLE_STATUS_LABELS}


def _pattern(shape: str) -> re.Pattern[str]:
    """The msgid as a pattern: its text literally, each value any text (a path's as short as
    it can be, so ``<path>: <finding>`` splits at the first ': ')."""
    parts = _VALUE.split(shape)
    regex = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)"
                    for n, part in enumerate(parts))
    return re.compile(regex, re.DOTALL)


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((_pattern(shape), shape) for shape in SHAPES)


def shape_of(line: str) -> tuple[str, dict[str, str]] | None:
    """The msgid ``line`` (a verifier's finding, without its status) is an instance of, and
    its values; None for a line of no known shape."""
    for pattern, shape in _patterns():
        found = pattern.fullmatch(line)
        if found is not None:
            return shape, found.groupdict()
    return None


def translate_line(line: str, gettext: Callable[[str], str]) -> str:
    """``line`` in the language ``gettext`` translates to (as printed if of no known
    shape); a state or status code among its values is named as the console names it."""
    known = shape_of(line)
    if known is None:
        return line
    shape, values = known
    named: Mapping[str, str] = {
        key: gettext(_CODES[key][value]) if key in _CODES and value in _CODES[key] else value
        for key, value in values.items()}
    return gettext(shape) % named
