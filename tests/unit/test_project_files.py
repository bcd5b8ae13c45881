"""The files an operator reads first: the licence, and docs/operations.md naming only commands that exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click

from idp.cli import cli_group

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_is_the_eupl_and_the_package_says_so():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:6] == ["EUROPEAN", "UNION", "PUBLIC", "LICENCE", "v.", "1.2"]
    assert "Appendix" in text and "Compatible Licences" in text  # the whole text, up to its appendix
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (project["license"], project["license-files"]) == ("EUPL-1.2", ["LICENSE"])


def test_the_operations_guide_names_only_commands_that_exist():
    group = cli_group()
    ctx = click.Context(group)
    named = re.findall(r"`idp ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", (ROOT / "docs" / "operations.md").read_text())
    assert len(named) > 20
    for first, second in named:
        command = group.get_command(ctx, first)
        assert command is not None, f"idp {first}"
        if isinstance(command, click.Group):
            assert command.get_command(click.Context(command), second) is not None, f"idp {first} {second}"
