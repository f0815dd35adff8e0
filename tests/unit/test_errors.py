"""One root exception, flowc.FlowcError, and one table of codes that `flowc explain` reads."""

from __future__ import annotations

import pytest

import flowc
from flowc.cli import main
from flowc.codes import CODES, EVERY_CODE, IMPORT_CODES


def test_every_error_of_flowc_has_the_one_root():
    for error in (flowc.FlowError, flowc.RunError, flowc.ResultError, flowc.ResolveError):
        assert issubclass(error, flowc.FlowcError), error
    assert issubclass(flowc.ResultError, ValueError)  # as before, for code that catches that
    with pytest.raises(flowc.FlowcError) as caught:
        flowc.compile_source("buffer raw : f4[16] slots=0\n")
    assert isinstance(caught.value, flowc.FlowError)


def test_the_import_codes_are_in_the_one_table(capsys):
    assert set(EVERY_CODE) == set(CODES) | set(IMPORT_CODES)
    assert all(code.startswith("M") for code in IMPORT_CODES)
    assert main(["explain", "m201"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("M201 (error): a worker's code cannot be found")
    assert "Example" not in out


def test_an_unknown_code_suggests_a_known_one(capsys):
    assert main(["explain", "M209"]) == 2
    assert "did you mean M20" in capsys.readouterr().err
