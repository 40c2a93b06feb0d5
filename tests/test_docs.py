"""The documentation is generated where it can be, and stays so: the configuration reference
from the schema, the README's headline table from a run's summary; the Sphinx site builds
without a warning."""

from __future__ import annotations

import subprocess
import sys

import pytest

from blendphot import docs

from .conftest import ROOT


def test_every_schema_key_has_a_description():
    assert docs.undescribed_keys() == []


def test_configuration_reference_is_current():
    page = ROOT / docs.REFERENCE_PAGE
    assert page.read_text() == docs.config_reference(), (
        f"{page.relative_to(ROOT)} is stale: python -m blendphot.docs config-reference"
    )


def test_reference_lists_every_key_with_its_default_and_demo_value():
    page = docs.config_reference()
    for key in docs.schema_keys():
        section = "." not in key.path and key.node.get("type") == "object"
        assert (f"## `{key.path}`" if section else f"| `{key.path}` |") in page, key.path
    assert "| `sky.n_galaxies` | integer >= 1 | `300` | `1200` |" in page
    assert "| `models.<name>.params` | mapping | `{}` | blend2flux: `{filters: 8," in page


def test_a_key_added_without_regenerating_makes_the_reference_stale(tmp_path):
    """What the staleness test catches: the schema gains a key, the page does not."""
    from blendphot.config import load_schema

    schema = load_schema()
    schema["properties"]["training"]["properties"]["warmup_epochs"] = {
        "type": "integer",
        "default": 0,
        "description": "epochs of linear learning-rate warm-up",
    }
    assert docs.config_reference(schema) != (ROOT / docs.REFERENCE_PAGE).read_text()
    assert "| `training.warmup_epochs` | integer | `0` |" in docs.config_reference(schema)
    del schema["properties"]["training"]["properties"]["warmup_epochs"]["description"]
    assert docs.undescribed_keys(schema) == ["training.warmup_epochs"]


FAKE_SUMMARY = """\
Summary: the paper's results (its published table) and this project's.

| source | method | role | n | bias | sigma_mag | outlier_fraction | mape_flux | mape_mag |
|---|---|---|---|---|---|---|---|---|
| paper (published table) | blend2flux | central | 3844 | 0.01 | 0.12 | 0.0 | 7.566 | 0.38 |
| paper (published table) | blend2flux | companion | 4344 | 0.01 | 0.12 | 0.0 | 7.871 | 0.40 |
| paper (published table) | sep | central | 3844 | 0.1 | 0.54 | 0.1 | 33.5632 | 1.59 |
| paper (published table) | sep | companion | 4344 | 0.0 | 0.7 | 0.1 | 40.5662 | 1.97 |
| blendphot (tiny) | blend2flux | central | 7 | 0.1 | 0.2 | 0.0 | 15.3383 | 0.87 |
| blendphot (tiny) | blend2flux | companion | 9 | 0.0 | 0.2 | 0.0 | 13.9285 | 0.73 |
| blendphot (tiny) | sep isophotal | central | 7 | 0.3 | 0.4 | 0.1 | 26.9658 | 1.77 |
| blendphot (tiny) | sep isophotal | companion | 9 | 0.2 | 0.6 | 0.1 | 35.6714 | 1.97 |
| blendphot (tiny) | oracle (floor) | central | 7 | 0.0 | 0.0 | 0.0 | 0.4064 | 0.02 |
| blendphot (tiny) | oracle (floor) | companion | 9 | 0.0 | 0.0 | 0.0 | 0.4034 | 0.02 |
"""


def test_readme_has_one_summary_block():
    text = (ROOT / "README.md").read_text()
    start, end = docs.SUMMARY_MARKERS
    assert text.count(start) == 1 and text.count(end) == 1
    assert text.index(start) < text.index(end)


def test_readme_table_command_rewrites_the_block(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text(FAKE_SUMMARY)
    readme = tmp_path / "README.md"
    start, end = docs.SUMMARY_MARKERS
    readme.write_text(f"# Title\n\nbefore\n\n{start}\nold table\n{end}\n\nafter\n")
    command = [sys.executable, "-m", "blendphot.docs", "readme-table", str(summary)]
    options = ["--readme", str(readme), "--date", "2026-01-02", "--commit", "abc1234"]
    result = subprocess.run(
        command + options, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    text = readme.read_text()
    assert "old table" not in text
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith(f"{end}\n\nafter\n")
    assert "dataset `tiny`, run on 2026-01-02 at commit `abc1234`" in text
    assert "| blend2flux | 15.3 | 13.9 | 7.6 | 7.9 |" in text
    assert "| sep isophotal | 27.0 | 35.7 | 33.6 | 40.6 |" in text  # the paper's sep
    assert "| oracle (floor) | 0.4 | 0.4 |  |  |" in text
    once = text
    subprocess.run(command + options, cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert readme.read_text() == once  # rewriting is idempotent


def test_readme_block_needs_both_markers():
    with pytest.raises(ValueError, match="summary:start"):
        docs.replace_block("no markers here", "table")


def test_study_table_names_command_date_and_commit(tmp_path):
    out = docs.write_study_table(
        tmp_path / "t.md", "| a |\n|---|\n| 1 |", [str(ROOT / "benchmarks" / "x.py"), "--n", "3"]
    )
    text = out.read_text()
    assert text.startswith("| a |\n|---|\n| 1 |\n\nMeasured by `python benchmarks/x.py --n 3` on ")
    assert f"at commit `{docs.git_commit()}`" in text


def test_sphinx_site_builds_without_a_warning(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(tmp_path / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "html" / "index.html").exists()
    assert (tmp_path / "html" / "configuration-reference.html").exists()


def test_readme_table_command_also_writes_the_study_table_with_the_claims(tmp_path):
    claims = (
        "\nThe paper's claims, checked on this run (flux MAPE, ...):\n\n"
        "| claim | holds | numbers |\n|---|---|---|\n| a claim | no | 1 / 2 |\n"
    )
    summary = tmp_path / "summary.md"
    summary.write_text(FAKE_SUMMARY + claims)
    assert docs.summary_claims(FAKE_SUMMARY) == ""
    readme = tmp_path / "README.md"
    start, end = docs.SUMMARY_MARKERS
    readme.write_text(f"{start}\n{end}\n")
    study = tmp_path / "study.md"
    docs.main(["readme-table", str(summary), "--readme", str(readme), "--study", str(study),
               "--date", "2026-01-02", "--commit", "abc1234"])  # fmt: skip
    text = study.read_text()
    assert "| blend2flux | 15.3 | 13.9 | 7.6 | 7.9 |" in text
    assert "| a claim | no | 1 / 2 |" in text
    assert "Measured by `python -m blendphot.docs readme-table" in text
