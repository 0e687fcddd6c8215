"""The command line says which version it is."""

from __future__ import annotations

from importlib import metadata

import pytest

from streams.cli import main


def test_version_prints_the_installed_version_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`dossierwatch --version` prints the distribution's version on one line, exit 0."""
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"dossierwatch {metadata.version('dossierwatch')}\n"
