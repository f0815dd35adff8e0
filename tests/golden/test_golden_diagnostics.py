"""Golden diagnostics (rustc's UI tests): each `diagnostics/*.flow` beside its rendered `.stderr`.

A `.flow` file may start with `# set: NAME=VALUE`, `# max_shm: BYTES` and `# params: FILE.toml`
lines, passed to the checker as `--set`, `--max-shm` and `--params` are. `pytest --update-golden` rewrites the `.stderr` files
from what flowc prints now; review the diff before committing it.
"""

import re
from pathlib import Path

import pytest

from flowc.codes import CODES
from flowc.compiler import check_source
from flowc.diagnostics import render_text
from flowc.params import parse_params
from flowc.source import SourceFile

HERE = Path(__file__).parent / "diagnostics"
SPEC = Path("/work/shared/SPEC.md")
CASES = sorted(HERE.glob("*.flow"))


def rendered(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    set_texts = re.findall(r"^# set: (.+)$", text, flags=re.M)
    max_shm = re.search(r"^# max_shm: (\d+)$", text, flags=re.M)
    params = re.search(r"^# params: (.+)$", text, flags=re.M)
    result = check_source(
        SourceFile(path.name, text),
        set_texts=set_texts,
        base_dir=str(path.parent),
        max_shm=int(max_shm.group(1)) if max_shm else None,
        params=parse_params(SourceFile(params.group(1), (HERE / params.group(1)).read_text()))
        if params
        else None,
    )
    return render_text(result.diagnostics, color=False)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_diagnostics_match_the_golden_file(path, request):
    expected_path = path.with_suffix(".stderr")
    actual = rendered(path)
    if request.config.getoption("--update-golden"):
        expected_path.write_text(actual, encoding="utf-8")
        return
    assert expected_path.exists(), f"no {expected_path.name}: run pytest --update-golden"
    assert actual == expected_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_a_golden_file_shows_the_code_it_is_named_after(path):
    code = path.stem.split("_", 1)[0]
    if code in CODES:
        assert f"[{code}]" in rendered(path)


def spec_codes() -> list[str]:
    if SPEC.exists():
        table = re.findall(r"^\| ([EW]\d{3}) \|", SPEC.read_text(encoding="utf-8"), flags=re.M)
        if table:
            return table
    return list(CODES)


def test_every_code_of_the_spec_has_a_golden_file_and_an_explanation():
    codes = spec_codes()
    assert len(codes) >= 20
    with_golden = {p.stem.split("_", 1)[0] for p in CASES}
    assert [c for c in codes if c not in with_golden] == []
    assert [c for c in codes if c not in CODES] == []
