"""Module structure: the stamps settings objects agree with the schema, and the packages that
were split by responsibility have no import cycle (imports in function bodies included)."""

from __future__ import annotations

import ast
import dataclasses

import pytest

from blendphot.config import load_schema, with_defaults
from blendphot.io import config_hash
from blendphot.stamps.settings import GalaxyMap, InspectionRules, MosaicInput, StampSettings

from .conftest import ROOT, tiny_config_dict

ACYCLIC_PACKAGES = ("blendphot.stamps", "blendphot.blends", "blendphot.evaluate.uncertainty")


def stamps_schema() -> dict:
    return load_schema()["properties"]["stamps"]["properties"]


def test_stamp_settings_have_one_field_per_config_key():
    assert [f.name for f in dataclasses.fields(StampSettings)] == list(stamps_schema())


def test_stamp_settings_round_trip_a_config_section_and_its_hash():
    for section in (with_defaults({"stamps": {}})["stamps"], tiny_config_dict()["stamps"]):
        settings = StampSettings.of(section)
        assert StampSettings.of(settings) is settings
        assert settings.as_config() == section
        assert config_hash(settings.as_config()) == config_hash(section)
        assert settings.galaxy_map == GalaxyMap.of(section)
        assert settings.rules == InspectionRules.of(section)


def test_stamp_settings_name_the_keys_a_section_lacks_or_has_in_excess():
    section = with_defaults({"stamps": {}})["stamps"]
    with pytest.raises(ValueError, match="lacks detect_thresh"):
        StampSettings.of({k: v for k, v in section.items() if k != "detect_thresh"})
    with pytest.raises(ValueError, match="unknown detect_treshold"):
        StampSettings.of({**section, "detect_treshold": 1.0})


def test_part_settings_defaults_turn_their_step_off_or_follow_the_schema():
    schema = stamps_schema()
    default = GalaxyMap()
    assert default.smoothing == 0 and default.scale(30.0) == 0  # no galaxy map
    assert default.thresh == schema["galaxy_thresh"]["default"]
    assert default.deblend_cont == schema["galaxy_deblend_cont"]["default"]
    assert default.deblend_nthresh == schema["deblend_nthresh"]["default"]
    assert InspectionRules() == InspectionRules.of({})  # every rule off


def test_mosaic_input_reads_the_sky_section():
    assert MosaicInput.of(None) == MosaicInput()
    sky = {"source": "synthetic", "zeropoint": 25.0, "fits": {"hdu": 3}}
    assert MosaicInput.of(sky) == MosaicInput("synthetic", 25.0)  # fits settings: fits only
    fits = {"source": "fits", "fits": {"hdu": 1, "columns": {"x": "X_IMAGE"}, "noise": 0.2}}
    found = MosaicInput.of(fits)
    assert found.is_fits and found.hdu == 1 and found.noise == 0.2
    assert dict(found.columns) == {"x": "X_IMAGE"} and found.pixel_origin == 1


def module_imports() -> dict[str, set[str]]:
    """Every blendphot module -> the blendphot modules it imports anywhere in its code."""
    paths = {}
    for path in (ROOT / "blendphot").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in paths.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in paths else node.module)
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


@pytest.mark.parametrize("package", ACYCLIC_PACKAGES)
def test_no_import_cycle_within_a_split_package(package):
    graph = module_imports()
    inside = {m for m in graph if m.startswith(f"{package}.")}
    edges = {m: graph[m] & inside for m in inside}

    def reaches(start: str, target: str) -> list[str] | None:
        todo, seen = [[start]], set()
        while todo:
            path = todo.pop()
            for nxt in edges[path[-1]]:
                if nxt == target:
                    return [*path, nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append([*path, nxt])
        return None

    cycles = [cycle for m in sorted(inside) if (cycle := reaches(m, m))]
    assert not cycles, f"import cycle: {' -> '.join(cycles[0])}"
