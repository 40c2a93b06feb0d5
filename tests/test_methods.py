"""Methods of one's own as extra rules (blendphot.methods): the config layer, the checks at
parse time, the predictions contract's ``found`` slots, and the shipped photutils example."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from blendphot.contracts import check_predictions, read_prediction_file, write_prediction_file
from blendphot.errors import ConfigError, InputError
from blendphot.methods import (
    ExtraMethod,
    check_extra_methods,
    extra_methods,
    method_error,
    method_of_file,
)
from blendphot.methods.photutils_deblend import (
    PhotutilsSettings,
    main,
    measure_blend,
    measure_set,
    smoothing_kernel,
)
from blendphot.testing import NOISE, gaussian, write_multi_set

from .conftest import ROOT

PHOTUTILS_RULE = "workflow/methods/photutils.smk"


# ------------------------------------------------------------------------ config layer


def test_a_method_entry_takes_its_name_for_column_and_label():
    method = ExtraMethod.of("mine", {"rule": "rules/mine.smk"})
    assert (method.column, method.label, method.settings) == ("mine", "mine", {})
    assert method.predictions("demo") == "results/demo/predictions/mine.h5"
    assert method.validation_predictions("demo") == "results/demo/predictions/validation/mine.h5"
    named = extra_methods({"methods": {"a": {"rule": "x", "column": "ca", "label": "A (ours)"}}})
    assert (named["a"].column, named["a"].label) == ("ca", "A (ours)")
    assert extra_methods({}) == {}


def test_settings_become_command_line_options():
    method = ExtraMethod.of(
        "m", {"rule": "x", "settings": {"thresh": 1.5, "n_pixels": 8, "fast": True, "slow": False,
                                        "sizes": [1, 2], "name": "a b"}},
    )  # fmt: skip
    assert method.command_options() == "--thresh 1.5 --n-pixels 8 --fast --sizes 1 2 --name 'a b'"


def test_a_method_may_not_take_a_model_or_baseline_name_or_column(tmp_path):
    (tmp_path / "m.smk").write_text("")
    models = {"blend2flux": "b2f"}
    ok = {"m": ExtraMethod.of("m", {"rule": "m.smk"})}
    assert check_extra_methods(ok, models, [tmp_path]) == {"m": (tmp_path / "m.smk").resolve()}
    for name, entry, problem in (
        ("blend2flux", {"rule": "m.smk"}, "methods.blend2flux: the name is taken by model"),
        ("mine", {"rule": "m.smk", "column": "b2f"}, "methods.mine.column 'b2f' is taken by model"),
        ("mine", {"rule": "m.smk", "column": "kron"}, "column 'kron' is taken by a baseline"),
    ):
        with pytest.raises(ConfigError, match=problem):
            check_extra_methods({name: ExtraMethod.of(name, entry)}, models, [tmp_path])
    with pytest.raises(ConfigError, match="methods.m.rule: no rule file nowhere.smk"):
        check_extra_methods({"m": ExtraMethod.of("m", {"rule": "nowhere.smk"})}, {}, [tmp_path])


def test_the_rule_file_is_found_in_the_working_directory_then_the_workflow(tmp_path):
    method = ExtraMethod.of("photutils", {"rule": PHOTUTILS_RULE})
    found = check_extra_methods({"photutils": method}, {}, [tmp_path, ROOT])
    assert found["photutils"] == (ROOT / PHOTUTILS_RULE).resolve()


def test_a_file_is_a_method_s_when_it_is_one_of_its_promised_predictions():
    methods = {"mine": ExtraMethod.of("mine", {"rule": "r.smk"})}
    assert method_of_file("/w/results/demo/predictions/mine.h5", methods) is methods["mine"]
    assert method_of_file("results/x/predictions/validation/mine.h5", methods) is methods["mine"]
    for other in ("results/demo/predictions/b2f.h5", "results/demo/baseline/mine.h5", None):
        assert method_of_file(other, methods) is None


def test_a_contract_error_names_the_method_and_its_rule_file():
    exc = method_error(
        InputError("p.h5", "dataset id: 3 rows"), ExtraMethod.of("m", {"rule": "r.smk"})
    )
    assert str(exc) == "p.h5: method 'm' (rule file r.smk): dataset id: 3 rows"


# ------------------------------------------------------------- the contract's found slots


@pytest.fixture
def pairs(tmp_path) -> dict:
    path = write_multi_set(tmp_path / "set.h5", [2, 3, 2], size=48, n_slots=3)
    with h5py.File(path) as h5:
        flux = h5["flux"][()]
    return {"path": path, "ids": np.arange(3), "flux": flux, "present": np.isfinite(flux)}


def test_a_slot_not_found_holds_nan_and_reads_back(pairs, tmp_path):
    found = pairs["present"].copy()
    found[1, 2] = False
    flux = np.where(found, pairs["flux"], np.nan)
    path = tmp_path / "p.h5"
    write_prediction_file(path, pairs["ids"], "m", flux=flux, found=found)
    got = read_prediction_file(path, pairs["ids"], "m", pairs["present"], need=("flux",))
    np.testing.assert_array_equal(got["found"], found)
    assert read_prediction_file(path)["found"] is not None


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda f, found: found.__setitem__((0, 0), False), "a found slot must hold a finite"),
        (lambda f, found: f.__setitem__((0, 0), np.nan), "a found slot must hold a finite"),
        (lambda f, found: found.__setitem__((0, 2), True), "dataset found, row 0"),
    ],
)
def test_found_must_agree_with_the_fluxes_and_the_present_slots(pairs, tmp_path, change, problem):
    flux, found = pairs["flux"].copy(), pairs["present"].copy()
    change(flux, found)
    path = tmp_path / "p.h5"
    with h5py.File(path, "w") as h5:
        h5["id"], h5["flux"], h5["found"] = pairs["ids"], flux, found
        h5.attrs["model"] = "m"
    with pytest.raises(InputError, match=problem), h5py.File(path) as h5:
        check_predictions(h5, path, pairs["ids"], "m", pairs["present"])


def test_without_found_a_present_slot_must_be_finite(pairs, tmp_path):
    flux = pairs["flux"].copy()
    flux[1, 2] = np.nan
    with pytest.raises(InputError, match="not finite in a present slot"):
        write_prediction_file(tmp_path / "p.h5", pairs["ids"], "m", flux=flux)
        read_prediction_file(tmp_path / "p.h5", pairs["ids"], "m", pairs["present"])


# ------------------------------------------------------------------- photutils example


def two_galaxies(separation: float, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size, c = 64, 32
    image = gaussian(size, c, c, 2.5, 40.0) + gaussian(size, c + separation, c, 2.0, 20.0)
    image = image + rng.normal(0, NOISE * np.sqrt(2), image.shape)
    return image, np.array([[c, c], [c + separation, c]], float), np.array([3.0, 2.4])


def test_photutils_deblends_two_separated_galaxies():
    rng = np.random.default_rng(1)
    settings = PhotutilsSettings()
    kernel = smoothing_kernel(settings.kernel_fwhm)
    image, positions, radii = two_galaxies(14.0, rng)
    flux, err, found = measure_blend(image, NOISE * np.sqrt(2), positions, radii, settings, kernel)
    assert found.all()
    np.testing.assert_allclose(flux, [40.0, 20.0], rtol=0.1)
    assert (err > 0).all() and (err < 0.1 * flux).all()


def test_photutils_misses_a_galaxy_it_cannot_separate():
    rng = np.random.default_rng(2)
    image, positions, radii = two_galaxies(1.0, rng)
    flux, _, found = measure_blend(image, NOISE * np.sqrt(2), positions, radii, PhotutilsSettings())
    assert found.sum() == 1 and np.isnan(flux[~found]).all()
    assert flux[found][0] == pytest.approx(60.0, rel=0.1)  # the merged pair's light


def test_no_smoothing_kernel_at_zero_fwhm():
    assert smoothing_kernel(0) is None
    assert smoothing_kernel(3.0).array.shape == (13, 13)


def test_photutils_measures_a_set_of_two_to_four_galaxies(tmp_path):
    counts = [2, 3, 4, 2, 3]
    path = write_multi_set(tmp_path / "set.h5", counts, size=64, n_slots=4)
    result = measure_set(path, PhotutilsSettings())
    with h5py.File(path) as h5:
        true = h5["flux"][()]
    present = np.isfinite(true)
    assert result["flux"].shape == (5, 4) and not result["skipped"].any()
    assert not (result["found"] & ~present).any() and np.isnan(result["flux"][~present]).all()
    assert result["found"][present].mean() > 0.8
    good = result["found"]
    ape = np.abs(result["flux"][good] - true[good]) / true[good]
    assert np.median(ape) < 0.1


def test_the_command_writes_a_file_the_contract_accepts(tmp_path):
    path = write_multi_set(tmp_path / "set.h5", [2, 2, 3], size=64)
    with h5py.File(path, "r+") as h5:  # a blend with a NaN pixel is skipped, not measured
        blend = h5["blend"][()]
        blend[1, 5, 5] = np.nan
        h5["blend"][...] = blend
    out = tmp_path / "pred" / "mine.h5"
    out.parent.mkdir()
    assert main([str(path), str(out), "--name", "mine", "--thresh", "2", "--n-pixels", "8"]) == 0
    with h5py.File(path) as h5:
        present = np.isfinite(h5["flux"][()])
    got = read_prediction_file(out, np.arange(3), "mine", present, need=("flux",))
    assert got["skipped"].tolist() == [False, True, False]
    assert np.isnan(got["flux"][1]).all()


def test_the_command_refuses_a_bad_blend_set_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    assert main([str(bad), str(tmp_path / "out.h5")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and "error" in err[0]
    assert not (tmp_path / "out.h5").exists()


# -------------------------------------------------------------------- the workflow


def dry_run(tmp_path: Path, methods_yaml: str):
    from .test_workflow import snakemake, workdir_with

    work = workdir_with(tmp_path / "w", (ROOT / "tests" / "data" / "tiny.yaml").read_text())
    overlay = tmp_path / "methods.yaml"
    overlay.write_text(methods_yaml)
    return snakemake("-d", str(work), "-n", "--configfile", str(overlay))


def test_the_workflow_includes_a_method_and_evaluates_it(tmp_path):
    result = dry_run(tmp_path, f"methods:\n  photutils:\n    rule: {PHOTUTILS_RULE}\n")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    jobs = result.stdout
    for rule in ("photutils", "photutils_validation", "output_catalog", "calibration", "table2"):
        assert f"rule {rule}:" in jobs, rule


def test_a_rule_file_that_writes_no_promised_file_fails_before_any_job(tmp_path):
    rule = tmp_path / "mine.smk"
    rule.write_text(
        'rule mine:\n    output:\n        "results/{dataset}/predictions/other.h5",\n'
        '    shell:\n        "touch {output}"\n'
    )
    result = dry_run(tmp_path, f"methods:\n  mine:\n    rule: {rule}\n")
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"methods.mine: no rule of {rule} writes results/tiny/predictions/mine.h5" in text


def test_a_file_in_another_layout_stops_its_reader_naming_the_method(tiny_data, tmp_path):
    """The calibration reads the method's validation predictions: one that breaks the
    contract (a row short) stops it with the contract's message, naming the method and its
    rule file."""
    import copy

    from blendphot.stages import run_stage

    config = copy.deepcopy(tiny_data["config"])
    config["evaluate"]["networks"] = False
    config["methods"] = {"mine": {"rule": "rules/mine.smk", "settings": {}}}
    baseline = tmp_path / "sep_val.csv"
    run_stage(
        "sep_baseline_validation", config, {"val": tiny_data["val"]}, {"baseline": baseline}, {}
    )
    with h5py.File(tiny_data["val"]) as h5:
        ids, flux = h5["table/id"][()], h5["flux"][()]
    good = tmp_path / "results" / "tiny" / "predictions" / "validation" / "mine.h5"
    good.parent.mkdir(parents=True)
    write_prediction_file(good, ids, "mine", flux=0.9 * flux)
    outputs = {"catalog": tmp_path / "cal.csv", "calibration": tmp_path / "cal.json"}
    inputs = {"val": tiny_data["val"], "predictions": [str(good)], "baseline": baseline}
    run_stage("calibration", config, inputs, outputs, {})
    assert "g1_flux_mine" in open(outputs["catalog"]).readline()
    write_prediction_file(good, ids[:-1], "mine", flux=0.9 * flux[:-1])
    with pytest.raises(InputError) as caught:
        run_stage(
            "calibration",
            config,
            inputs,
            {k: tmp_path / f"2{v.name}" for k, v in outputs.items()},
            {},
        )
    message = str(caught.value)
    assert message.startswith(f"{good}: method 'mine' (rule file rules/mine.smk): dataset id:")
    assert f"{len(ids) - 1} rows, the blend set has {len(ids)}" in message
