"""``ledger`` builds only the parsers of the command group it runs (ledger.cli.build_parser)."""

import argparse

import pytest

from ledger.cli import GROUP_COMMANDS, build_parser, command_of, groups

GROUPS = groups()


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.__name__.rsplit(".", 1)[-1])
def test_each_group_names_exactly_the_commands_it_registers(group: object) -> None:
    sub = argparse.ArgumentParser().add_subparsers()
    group.register(sub)  # type: ignore[attr-defined]
    assert tuple(sub.choices) == group.COMMANDS  # type: ignore[attr-defined]


def test_the_table_of_groups_names_each_group_s_own_commands() -> None:
    assert {g.__name__.rsplit(".", 1)[-1]: g.COMMANDS for g in GROUPS} == GROUP_COMMANDS


def test_ledger_verify_imports_neither_the_server_nor_the_composition_root() -> None:
    """A reading command starts quickly: its group and the storage it opens leave the HTTP
    stack, the bundle renderer and the service layer unloaded."""
    import subprocess
    import sys

    code = ("import sys; from ledger.cli import build_parser; "
            "build_parser('verify').parse_args(['verify']); "
            "import ledger.verify, ledger.storage; "
            "print(sorted(m for m in ('aiohttp', 'ledger.bootstrap', 'ledger.runtime', "
            "'ledger.bundle.export', 'ledger.service.ledger') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]"


def test_no_two_groups_claim_a_command() -> None:
    names = [c for g in GROUPS for c in g.COMMANDS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("argv", "command"), [
    (["verify-bundle", "b.zip", "--key", "k"], "verify-bundle"),
    (["--database", "sqlite:///x.db", "verify", "--skip-files"], "verify"),
    (["--database=sqlite:///x.db", "serve"], "serve"),
    (["--help"], None),
    ([], None),
])
def test_the_command_is_the_first_argument_that_is_not_an_option(
        argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command


def commands(parser: argparse.ArgumentParser) -> list[str]:
    return [name for action in parser._actions
            if isinstance(action, argparse._SubParsersAction) for name in action.choices]


def test_a_command_gets_its_own_group_and_anything_else_every_group() -> None:
    assert commands(build_parser("verify-bundle")) == ["verify-bundle"]
    every = [c for g in GROUPS for c in g.COMMANDS]
    assert commands(build_parser("no-such-command")) == commands(build_parser()) == every
    assert build_parser().parse_args(["--database", "sqlite:///x.db", "verify"]).command == "verify"


def test_an_unknown_command_is_refused_with_every_choice_named(
        capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.cli import main

    with pytest.raises(SystemExit):
        main(["verfy"])
    assert "verify-bundle" in capsys.readouterr().err
