"""IN lists are padded to a power of two (``ledger.projections.board.padded``): the same
members, and a handful of statement texts for the driver to prepare instead of one per
length."""

from ledger.projections.board import padded


def test_padding_keeps_the_members_and_rounds_the_length_up_to_a_power_of_two() -> None:
    assert padded([]) == []
    assert padded(["a"]) == ["a"]
    assert padded(["a", "b", "c"]) == ["a", "b", "c", "c"]
    assert padded(["a", "b", "c", "d"]) == ["a", "b", "c", "d"]
    five = padded([str(n) for n in range(5)])
    assert len(five) == 8 and set(five) == {str(n) for n in range(5)}
    assert {len(padded(["x"] * n)) for n in range(1, 501)} == {2**k for k in range(10)}
