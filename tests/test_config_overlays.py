"""The shipped overlays (config/paper.yaml, config/multi_paper.yaml) hold only what differs from
the default config/config.yaml, and give, merged over it, exactly the configuration recorded in
tests/data (values and types; the order of keys is Snakemake's and not compared)."""

from __future__ import annotations

import pytest
import yaml

from blendphot.config import _same, merged_config, read_yaml_file

from .conftest import ROOT

DEFAULT = ROOT / "config" / "config.yaml"
OVERLAYS = {
    "paper": ["config/paper.yaml"],
    "multi_paper": ["config/paper.yaml", "config/multi_paper.yaml"],
}


def differences(expected, actual, path="config") -> list[str]:
    """Where two configs differ, one line per key (values and their types)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{k}: missing" for k in expected if k not in actual]
        out += [f"{path}.{k}: not in the reference" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            out += differences(expected[key], actual[key], f"{path}.{key}")
        return out
    return [] if _same(expected, actual) else [f"{path}: {actual!r} instead of {expected!r}"]


@pytest.mark.parametrize("name", list(OVERLAYS))
def test_overlay_gives_the_recorded_configuration(name):
    merged = merged_config(DEFAULT, [ROOT / f for f in OVERLAYS[name]])
    reference = yaml.safe_load(
        (ROOT / "tests" / "data" / f"{name}_effective_config.yaml").read_text()
    )
    found = differences(reference, merged)
    assert not found, (
        f"--configfile {' '.join(OVERLAYS[name])} no longer gives the recorded configuration "
        f"(if intended: python -m blendphot.docs effective-config {' '.join(OVERLAYS[name])} "
        f"> tests/data/{name}_effective_config.yaml):\n" + "\n".join(sorted(found))
    )


@pytest.mark.parametrize("name", list(OVERLAYS))
def test_overlay_holds_only_what_differs(name):
    """No key of an overlay repeats the value it would get without it (model entries apart:
    an overlay's entry replaces the default's whole, so it is complete)."""
    *below, last = OVERLAYS[name]
    base = merged_config(DEFAULT, [ROOT / f for f in below])
    overlay = read_yaml_file(ROOT / last)

    def repeated(values, under, path):
        for key, value in values.items():
            here = f"{path}{key}"
            if here == "models" or key not in under:
                continue
            if isinstance(value, dict) and isinstance(under[key], dict):
                yield from repeated(value, under[key], here + ".")
            elif _same(value, under[key]):
                yield here

    assert not list(repeated(overlay, base, "")), f"{last} repeats values it would get anyway"


def test_effective_config_command_writes_the_reference(tmp_path):
    from blendphot.docs import effective_config_text

    text = effective_config_text(DEFAULT, [ROOT / "config" / "paper.yaml"], ROOT)
    assert text.startswith("# The effective configuration of `snakemake --configfile config/paper")
    assert _same(yaml.safe_load(text), merged_config(DEFAULT, [ROOT / "config" / "paper.yaml"]))
