"""LEDGER_SEPARATION_OF_DUTIES: strict by default, ``off`` on request, anything else refused."""

import pytest

from ledger.errors import ConfigurationError
from ledger.settings import Settings


def test_separation_of_duties_is_strict_unless_the_environment_turns_it_off() -> None:
    assert Settings.from_env({}).separation_of_duties is True
    assert Settings.from_env({"LEDGER_SEPARATION_OF_DUTIES": "strict"}).separation_of_duties
    assert not Settings.from_env({"LEDGER_SEPARATION_OF_DUTIES": "off"}).separation_of_duties


@pytest.mark.parametrize("value", ["", "on", "OFF", "false", "0"])
def test_refuses_a_separation_of_duties_setting_it_does_not_know(value: str) -> None:
    with pytest.raises(ConfigurationError, match="LEDGER_SEPARATION_OF_DUTIES must be strict"):
        Settings.from_env({"LEDGER_SEPARATION_OF_DUTIES": value})
