"""The sep baseline (paper 3.3) in shards, and the gather that joins them; Table 3."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(inputs=("test",), outputs=("shard",), params=("shard",), settings=("baseline",))
def sep_baseline_shard(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """sep cold/hot photometry (+ Kron, isolated reference) of one shard of the test set
    (params: shard, 0-based, of baseline.shards)."""
    from blendphot.baseline.run import run_baseline

    baseline = settings["baseline"]
    run_baseline(
        Path(inputs["test"]),
        baseline,
        Path(outputs["shard"]),
        shard=int(params["shard"]),
        n_shards=int(baseline["shards"]),
    )


@stage(inputs=("val",), outputs=("baseline",), settings=("baseline",))
def sep_baseline_validation(
    settings: dict, inputs: dict, outputs: dict, params: dict, threads: int
):
    """The sep baseline on the validation blends, in one job (for the calibration of its
    flux uncertainties)."""
    from blendphot.baseline.run import run_baseline

    run_baseline(Path(inputs["val"]), settings["baseline"], Path(outputs["baseline"]))


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
    from blendphot.io import write_csv

    shards = [Path(p) for p in inputs["shards"]]
    gather_shards(shards, Path(inputs["test"]), Path(outputs["baseline"]))
    write_csv(table3(settings["baseline"]), Path(outputs["table3"]))
