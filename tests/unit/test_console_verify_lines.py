"""The Verify page's check lines through the catalogues (web.verify_lines): a verifier line
is matched to its shape, its values carried into the translation, a code among them named."""

from __future__ import annotations

from ledger.bundle.verify import MIMETYPE_MESSAGE
from web.i18n import load_catalogues
from web.verify_lines import SHAPES, shape_of, translate_line

ZH = load_catalogues("Asia/Shanghai").translations["zh"].gettext


def test_a_failure_splits_at_the_first_colon_and_keeps_its_path() -> None:
    line = "entries/departure/1f0e/000003.json: prev is not the hash of the previous version"
    assert shape_of(line) == ("%(path)s: prev is not the hash of the previous version",
                              {"path": "entries/departure/1f0e/000003.json"})
    assert translate_line(line, ZH) == (
        "entries/departure/1f0e/000003.json：prev 不是上一版本的哈希")


def test_a_state_among_the_values_is_named_as_the_console_names_it() -> None:
    line = ("META-INF/manifest.json: final, but the departure is handing_over")
    assert translate_line(line, ZH) == (
        "META-INF/manifest.json：标为最终版，但离职单状态为“交接中”")


def test_the_verifiers_own_constant_lines_have_a_shape() -> None:
    assert shape_of(MIMETYPE_MESSAGE) is not None
    assert translate_line(MIMETYPE_MESSAGE, ZH).startswith("mimetype：必须是第一个成员")


def test_a_line_of_no_known_shape_is_shown_as_printed() -> None:
    assert translate_line("a verifier line added later", ZH) == "a verifier line added later"


def test_every_shape_is_translated_with_the_same_values() -> None:
    for shape in SHAPES:
        translated = ZH(shape)
        assert translated != shape, shape
        assert all(f"%({value.split(')')[0]})s" in translated
                   for value in shape.split("%(")[1:]), shape
