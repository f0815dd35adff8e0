"""The command line's argument handling, in-process: sizes, --set, usage errors, exit codes."""

import contextlib
import io
import json
import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc import cli


def run_main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "text,size",
    [
        ("1048576", 1048576),
        ("512M", 512 * 1024**2),
        ("2G", 2 * 1024**3),
        ("2g", 2 * 1024**3),
        ("64KiB", 64 * 1024),
        ("64kib", 64 * 1024),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("500MB", 500 * 1000**2),
        ("1T", 1024**4),
        ("100B", 100),
        (" 8 M ", 8 * 1024**2),
    ],
)
def test_parse_size_accepts_bytes_with_suffixes(text, size):
    assert cli.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "12Q", "-5M", "0", "0K", "1.2.3G", "5 Mi", "5iB", "G5"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError):
        cli.parse_size(text)


def test_set_texts_need_an_equals_sign_and_a_name():
    assert cli.split_set_texts(["N=5", 'OUT="a=b"', "S="]) == ["N=5", 'OUT="a=b"', "S="]
    with pytest.raises(cli.UsageError, match="NAME=VALUE"):
        cli.split_set_texts(["N"])
    with pytest.raises(cli.UsageError, match="NAME"):
        cli.split_set_texts(["=5"])


def test_help_lists_every_command_on_its_own_line(capsys):
    code, out, err = run_main(capsys, "--help")
    assert code == 0 and err == ""
    for command in ("check", "run", "graph", "plan", "fmt", "explain", "stdlib"):
        lines = [line for line in out.splitlines() if line.strip().startswith(command + " ")]
        assert len(lines) == 1, (command, out)


def test_version(capsys):
    from flowc import __version__

    code, out, _ = run_main(capsys, "--version")
    assert code == 0
    assert out.strip() == f"flowc {__version__}"


@pytest.mark.parametrize(
    "argv,fragment",
    [
        ((), "COMMAND"),
        (("frobnicate",), "frobnicate"),
        (("check",), "FILE"),
        (("check", "x.flow", "--set", "N"), "NAME=VALUE"),
        (("plan", "x.flow", "--set", "N"), "NAME=VALUE"),
        (("run", "x.flow", "--set", "N"), "NAME=VALUE"),
        (("check", "x.flow", "--max-shm", "lots"), "--max-shm"),
        (("check", "x.flow", "--format", "yaml"), "--format"),
        (("run", "x.flow", "--timeout", "soon"), "--timeout"),
        (("run", "x.flow", "--timeout", "-1"), "--timeout"),
        (("run", "x.flow", "--timeout", "nan"), "--timeout"),
        (("graph", "x.flow", "-o", "x.jpeg"), ".jpeg"),
        (("check", "x.flow", "--bogus"), "--bogus"),
        (("explain", "E999"), "E999"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, argv, fragment):
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("flowc: error: ")
    assert err.count("\n") == 1, err
    assert fragment in err


def test_missing_file_is_a_usage_error(capsys, tmp_path):
    missing = tmp_path / "nope.flow"
    for command in ("check", "run", "graph", "plan", "fmt"):
        code, out, err = run_main(capsys, command, str(missing))
        assert code == 2, command
        assert out == ""
        assert err == f"flowc: error: {missing}: no such file\n"


def test_a_directory_is_a_usage_error(capsys, tmp_path):
    code, _, err = run_main(capsys, "check", str(tmp_path))
    assert code == 2
    assert "is a directory" in err


def test_explain_suggests_a_close_code(capsys):
    code, _, err = run_main(capsys, "explain", "E2O1")
    assert code == 2
    assert "did you mean E201?" in err


def test_an_unexpected_exception_is_an_internal_error_with_traceback(capsys, monkeypatch, tmp_path):
    def broken_check(path, **options):
        raise ZeroDivisionError("the checker divided by zero")

    monkeypatch.setattr(cli.compiler, "check_file", broken_check)
    flow = tmp_path / "a.flow"
    flow.write_text("pipeline a\n")
    code, out, err = run_main(capsys, "check", str(flow))
    assert code == 70
    assert out == ""
    assert err.startswith("flowc: internal error: ZeroDivisionError: the checker divided by zero\n")
    assert "Traceback (most recent call last):" in err
    assert "broken_check" in err
    assert "Please report it" in err


def test_a_graph_output_folder_that_does_not_exist_is_a_usage_error(capsys, tmp_path):
    flow = tmp_path / "a.flow"
    flow.write_text("pipeline a\n")
    code, _, err = run_main(capsys, "graph", str(flow), "-o", str(tmp_path / "no" / "g.svg"))
    assert code == 2
    assert "does not exist" in err


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_color_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli.use_color(FakeStream(tty=True))
    assert not cli.use_color(FakeStream(tty=False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli.use_color(FakeStream(tty=True))


@settings(max_examples=40)
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_file_content_is_checked_without_an_internal_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "any.flow")
        with open(path, "wb") as out:
            out.write(content)
        for argv in (["check", path], ["check", path, "--format", "json"], ["fmt", path]):
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = cli.main(argv)
            assert code in (0, 1), (argv, stderr.getvalue())
            assert "Traceback" not in stderr.getvalue()
            if "json" in argv:
                assert json.loads(stdout.getvalue())["ok"] is (code == 0)


def test_explain_knows_every_code(capsys):
    from flowc.codes import CODES

    for code in CODES:
        exit_code, out, err = run_main(capsys, "explain", code.lower())
        assert (exit_code, err) == (0, ""), code
        assert code in out and len(out.splitlines()) > 2, code
