"""Which photometry methods a catalogue holds, how they are labelled, and their zero points."""

from __future__ import annotations

import pandas as pd

from blendphot.evaluate.catalog import PAPER_LABELS, Method, methods_in

METHOD_LABELS = {
    "sex": "sep isophotal",
    "kron": "sep Kron",
    "iso_sex": "isolated isophotal",
    "iso_kron": "isolated Kron",
    "scarlet": "scarlet2",
    "oracle": "oracle (floor)",
}
"""Labels of the baseline and oracle columns in metrics and figures."""
REFERENCE_ONLY = ("iso_sex", "iso_kron")
"""Columns measured on the isolated stamps: in the metrics, not in the blend figures."""


def flux_columns(models: dict) -> dict[str, str]:
    """Catalogue column suffix of each configured model that predicts fluxes."""
    from blendphot.models.registry import check_models, flux_models

    check_models(models)
    return {name: models[name].get("column", name) for name in flux_models(models)}


def method_columns(settings: dict, validation: bool = False) -> dict[str, str]:
    """Catalogue column suffix of every method with predictions files, by name: the models
    (with ``evaluate.networks``; on the validation blends the flux models only), then the
    methods of one's own (``methods``). ``settings`` holds ``models``, ``evaluate`` and
    ``methods``."""
    from blendphot.methods import extra_methods

    columns = {}
    if settings["evaluate"]["networks"]:
        fluxes = flux_columns(settings["models"])
        names = fluxes if validation else settings["models"]
        columns = {name: fluxes.get(name) for name in names}
    return columns | {m.name: m.column for m in extra_methods(settings).values()}


def sep_zeropoint(settings: dict) -> float:
    """Zero point of the sep magnitudes: evaluate.sep_zeropoint, else the sky's."""
    value = settings["evaluate"]["sep_zeropoint"]
    return float(settings["sky"]["zeropoint"] if value is None else value)


def evaluation_methods(settings: dict, dataset: str, catalog: pd.DataFrame) -> list[Method]:
    """The methods found in a catalogue, labelled and with their zero points.

    ``settings`` holds ``models``, ``methods``, ``sky.zeropoint`` and ``evaluate``. The
    paper-reference
    dataset uses the paper's conventions (networks 25.96, sep 25.67).
    """
    reference = settings["evaluate"]["paper_reference"]
    if dataset == reference["name"]:
        return methods_in(catalog, PAPER_LABELS, reference["zeropoint"], reference["sep_zeropoint"])
    from blendphot.methods import extra_methods

    labels = {col: name for name, col in flux_columns(settings["models"]).items()}
    labels |= {m.column: m.label for m in extra_methods(settings).values()} | METHOD_LABELS
    zeropoint = float(settings["sky"]["zeropoint"])
    return methods_in(catalog, labels, zeropoint, sep_zeropoint(settings))
