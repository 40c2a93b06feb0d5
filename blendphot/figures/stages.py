"""Figure stages: Figures 1, 2 and 5-9 of the paper, and the sky's calibration figure."""

from __future__ import annotations

from pathlib import Path

from blendphot.stages import stage


@stage(inputs=("stamps", "reference"), outputs=("figure",), optional_inputs=("reference",))
def sky_calibration(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Figure: selected galaxies against the paper's published ones (KS tests, type mix)."""
    from blendphot.figures.calibration import calibration_figure

    reference = inputs.get("reference")
    calibration_figure(
        Path(inputs["stamps"]),
        Path(reference) if reference else None,
        [Path(outputs["figure"])],
    )


@stage(inputs=("stamps",), outputs=("figure1_png", "figure1_pdf"))
def figure1(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Figure 1: original, cleaned and segmentation of one galaxy of each type."""
    from blendphot.figures.stamps import figure1 as draw

    draw(Path(inputs["stamps"]), [Path(outputs["figure1_png"]), Path(outputs["figure1_pdf"])])


@stage(inputs=("train", "val", "test"), outputs=("figure2_png", "figure2_pdf", "histograms"))
def blend_figures(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Figure 2 (blends by distance and magnitude difference) and split histograms."""
    from blendphot.figures.blends import blend_histograms, figure2

    figure2(Path(inputs["test"]), [Path(outputs["figure2_png"]), Path(outputs["figure2_pdf"])])
    splits = {split: Path(inputs[split]) for split in ("train", "val", "test")}
    blend_histograms(splits, [Path(outputs["histograms"])])


@stage(
    inputs=("catalog", "binned"),
    outputs=tuple(f"figure{n}_{ext}" for n in (5, 6, 7, 8, 9) for ext in ("png", "pdf")),
    params=("dataset",),
    settings=("models", "methods", "sky.zeropoint", "evaluate"),
)
def figures(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Figures 5-9 (PNG and PDF) from the output catalogue and the binned statistics."""
    import pandas as pd

    from blendphot.contracts import read_output_catalog
    from blendphot.evaluate.methods import REFERENCE_ONLY, evaluation_methods
    from blendphot.figures.photometry import binned_figure, figure5, figure6, figure9

    catalog = read_output_catalog(inputs["catalog"])
    binned = pd.read_csv(inputs["binned"])
    methods = [
        m
        for m in evaluation_methods(settings, params["dataset"], catalog)
        if m.column not in REFERENCE_ONLY
    ]
    shown = {m.label for m in methods}
    binned = binned[binned["method"].isin(shown)]
    threshold = settings["evaluate"]["outlier_threshold"]

    def both(name: str) -> list[Path]:
        return [Path(outputs[f"{name}_png"]), Path(outputs[f"{name}_pdf"])]

    figure5(catalog, methods, threshold, both("figure5"))
    figure6(catalog, methods, threshold, both("figure6"))
    binned_figure(binned, "mag_difference", "own magnitude - the other's", both("figure7"))
    binned_figure(
        binned, "distance_over_radius", "distance / own effective radius", both("figure8")
    )
    figure9(binned, both("figure9"))


@stage(
    inputs=("catalog",),
    outputs=tuple(f"figure{n}_png" for n in (5, 6, 7, 8, 9)),
    params=("dataset", "n_galaxies"),
    settings=("models", "methods", "sky.zeropoint", "evaluate"),
)
def count_figures(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """Figures 5-9 (PNG) of the blends of one number of galaxies (``n_galaxies``)."""
    from blendphot.contracts import read_output_catalog
    from blendphot.evaluate.methods import REFERENCE_ONLY, evaluation_methods
    from blendphot.evaluate.metrics import binned_table, blends_of
    from blendphot.figures.photometry import binned_figure, figure5, figure6, figure9

    catalog = read_output_catalog(inputs["catalog"])
    n = int(params["n_galaxies"])
    catalog = blends_of(catalog, n)
    if catalog.empty:
        raise ValueError(f"{inputs['catalog']}: no blend of {n} galaxies")
    methods = [
        m
        for m in evaluation_methods(settings, params["dataset"], catalog)
        if m.column not in REFERENCE_ONLY
    ]
    threshold = settings["evaluate"]["outlier_threshold"]
    binned = binned_table(catalog, methods)
    figure5(catalog, methods, threshold, [Path(outputs["figure5_png"])])
    figure6(catalog, methods, threshold, [Path(outputs["figure6_png"])])
    binned_figure(
        binned, "mag_difference", "own magnitude - the other's", [Path(outputs["figure7_png"])]
    )
    binned_figure(
        binned,
        "distance_over_radius",
        "distance / own effective radius",
        [Path(outputs["figure8_png"])],
    )
    figure9(binned, [Path(outputs["figure9_png"])])


@stage(inputs=("by_count",), outputs=("png", "pdf"))
def count_figure(settings: dict, inputs: dict, outputs: dict, params: dict, threads: int):
    """The flux error of every method against the number of galaxies in the blend, per slot."""
    import pandas as pd

    from blendphot.figures.photometry import count_figure as draw

    draw(pd.read_csv(inputs["by_count"]), [Path(outputs["png"]), Path(outputs["pdf"])])
