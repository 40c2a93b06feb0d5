"""The sep baseline (paper 3.3) in shards, and the gather that joins them; Table 3.

Each stage builds its settings object (:mod:`blendphot.baseline.settings`) from its config
sections once and hands it to the science code."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(inputs=("test",), outputs=("shard",), params=("shard",), settings=("baseline",))
def sep_baseline_shard(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """sep cold/hot photometry (+ Kron, isolated reference) of one shard of the test set
    (params: shard, 0-based, of baseline.shards)."""
    from blendphot.baseline.run import run_baseline
    from blendphot.baseline.settings import BaselineSettings

    baseline = BaselineSettings.of(settings["baseline"])
    run_baseline(
        Path(inputs["test"]),
        baseline,
        Path(outputs["shard"]),
        shard=int(params["shard"]),
        n_shards=int(baseline.shards),
    )


@stage(inputs=("val",), outputs=("baseline",), settings=("baseline",))
def sep_baseline_validation(
    settings: dict, inputs: dict, outputs: dict, params: dict, threads: int
):
    """The sep baseline on the validation blends, in one job (for the calibration of its
    flux uncertainties)."""
    from blendphot.baseline.run import run_baseline
    from blendphot.baseline.settings import BaselineSettings

    baseline = BaselineSettings.of(settings["baseline"])
    run_baseline(Path(inputs["val"]), baseline, Path(outputs["baseline"]))


@stage(
    inputs=("test", "shards"),
    outputs=("baseline", "table3"),
    settings=("baseline.cold", "baseline.hot"),
    list_inputs=("shards",),
)
def sep_baseline(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Join the baseline shards, in order, into one CSV checked against the test set; Table 3."""
    from blendphot.baseline.run import gather_shards
    from blendphot.baseline.sep_photometry import table3
    from blendphot.baseline.settings import DetectionSettings
    from blendphot.io import write_csv

    passes = DetectionSettings.of(settings["baseline"])  # the cold and hot passes alone
    shards = [Path(p) for p in inputs["shards"]]
    gather_shards(shards, Path(inputs["test"]), Path(outputs["baseline"]))
    write_csv(table3(passes), Path(outputs["table3"]))


SCARLET_DETECTION = (
    "baseline.cold",
    "baseline.hot",
    "baseline.central_radius_factor",
    "baseline.noise",
)
"""The sep baseline's detection settings: scarlet starts from the same detections."""


@stage(
    inputs=("image",),
    outputs=("psf",),
    settings=("sky", "scarlet.psf"),
    optional_inputs=("image",),
)
def scarlet_psf(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The PSF image of the scarlet fits: the synthetic sky's own, else scarlet.psf (the
    configured image, or a Gaussian of the configured FWHM)."""
    from blendphot.baseline.scarlet import stage_psf, write_psf

    psf = stage_psf(settings["sky"], settings.get("scarlet", {}).get("psf", {}))
    write_psf(psf, Path(outputs["psf"]))


@stage(
    inputs=("test", "psf"),
    outputs=("shard",),
    params=("shard",),
    settings=("scarlet", *SCARLET_DETECTION),
)
def scarlet_shard(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """scarlet2 fits of one shard of the test set, started from sep's detections (params:
    shard, 0-based, of scarlet.shards)."""
    from blendphot.baseline.scarlet import configure_jax, read_psf, run_scarlet
    from blendphot.baseline.settings import ScarletSettings

    scarlet = ScarletSettings.of(settings)
    configure_jax(threads)
    run_scarlet(
        Path(inputs["test"]),
        read_psf(Path(inputs["psf"])),
        scarlet,
        Path(outputs["shard"]),
        shard=int(params["shard"]),
        n_shards=int(scarlet.shards),
    )


@stage(inputs=("val", "psf"), outputs=("baseline",), settings=("scarlet", *SCARLET_DETECTION))
def scarlet_validation(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """scarlet2 fits of the validation blends, in one job (for the calibration of its flux
    uncertainties)."""
    from blendphot.baseline.scarlet import configure_jax, read_psf, run_scarlet
    from blendphot.baseline.settings import ScarletSettings

    scarlet = ScarletSettings.of(settings)
    configure_jax(threads)
    run_scarlet(
        Path(inputs["val"]), read_psf(Path(inputs["psf"])), scarlet, Path(outputs["baseline"])
    )


@stage(inputs=("test", "shards"), outputs=("baseline",), list_inputs=("shards",))
def scarlet(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Join the scarlet shards, in order, into one CSV checked against the test set."""
    from blendphot.baseline.scarlet import gather_scarlet

    gather_scarlet(
        [Path(p) for p in inputs["shards"]], Path(inputs["test"]), Path(outputs["baseline"])
    )
