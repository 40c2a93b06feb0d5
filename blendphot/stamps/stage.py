"""The stamps stage: a sky source -> stamps HDF5, Table 1 and a cleaning report.

Sources: a mosaic plus a catalogue (the synthetic sky, or a FITS mosaic from elsewhere), or the
published candels-blender stamps (:func:`build_stamps_candels`). Both end in the same file:

- ``image_raw`` (N,128,128) float32: the cut-out as observed, neighbours included;
- ``segmap_raw`` (N,128,128) int32: its sep (or provided SExtractor) segmentation;
- ``image`` (N,128,128) float32: the cleaned stamp (neighbours replaced by background);
- ``mask`` (N,128,128) uint8: the central galaxy's segment;
- ``catalog``: the catalogue rows of the N galaxies (plus noise, n_neighbours, replaced);
- ``image_true`` (N,128,128) float32, synthetic sky only: the noiseless central galaxy alone,
  on exactly the pixels of ``image``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from scipy import ndimage

from blendphot import STAMP_SIZE, __version__
from blendphot.errors import InputError
from blendphot.io import atomic_path, config_hash, write_csv, write_table
from blendphot.sky import (
    GALAXY_TYPES,
    mosaic_noise,
    pixel_positions,
    read_candels_blender,
    read_catalog,
    read_mosaic,
    render_truth_stamp,
)
from blendphot.stamps.cleaning import (
    central_family,
    central_label,
    central_loss_estimate,
    clean_stamp,
    cut_origin,
    cut_stamp,
    estimate_noise,
    faint_central_label,
    faint_segmentation,
    galaxy_segments,
    grown_ellipses,
    mostly_within,
    neighbour_region,
    segment_properties,
    segment_stamp,
    smooth_asymmetry,
    touching_segments,
)
from blendphot.stamps.layout import STAMPS_DATASETS, TRUTH_DATASET, read_stamps  # noqa: F401
from blendphot.stamps.selection import select_galaxies
from blendphot.stamps.validation import stamp_cleaning_metrics, summarise_cleaning

log = logging.getLogger(__name__)
STAGE_STREAM = 2
CORE_RADII = 1.0
"""Pieces of the central galaxy centred within this many catalogue radii are its core."""
INSPECTED_BY_EYE = ("candels_blender",)
"""Sky sources whose galaxies were already inspected by eye: ``inspect: auto`` is off."""
SKIP_REASONS = ("outside", "edge", "no_data", "no_detection", "inspection")
"""Why a selected galaxy gets no stamp: off the image, too close to its edge, blank or
non-finite pixels in the cut, nothing detected at the centre, excluded by the automatic
inspection (cleaning removed too much of the central's light). Counted, never fatal."""


def table1(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Counts per type before and after exclusion (the paper's Table 1)."""
    names = {"sph": "Bulge", "disk": "Disc", "sphd": "Bulge+disc", "irr": "Irregular"}
    rows = [
        {
            "type": names[t],
            "before_exclusion": int((before["type"] == t).sum()),
            "after_exclusion": int((after["type"] == t).sum()),
        }
        for t in GALAXY_TYPES
    ]
    rows.append({"type": "Total", "before_exclusion": len(before), "after_exclusion": len(after)})
    return pd.DataFrame(rows)


@dataclass
class StampSet:
    """Stamps accumulated galaxy by galaxy, then written at once."""

    raw: list = field(default_factory=list)
    segmaps: list = field(default_factory=list)
    clean: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    truth: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    report: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    skipped: dict = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))


def cut_window(
    mosaic: np.ndarray, x: float, y: float, size: int, margin: int
) -> tuple[np.ndarray, int]:
    """The cut-out with up to ``margin`` extra pixels on every side (the same on all four, as
    far as the mosaic allows), and the margin used: objects just outside the stamp are
    segmented whole."""
    x0, y0 = cut_origin(x, y, size)
    height, width = mosaic.shape
    m = max(0, min(margin, x0, y0, width - x0 - size, height - y0 - size))
    window = mosaic[y0 - m : y0 + size + m, x0 - m : x0 + size + m]
    return np.ascontiguousarray(window, dtype=np.float32), m


def process_stamp(
    stamp: np.ndarray,
    params: dict,
    noise: float,
    rng: np.random.Generator,
    segmap: np.ndarray | None = None,
    radius: float = float("nan"),
    window: np.ndarray | None = None,
    margin: int = 0,
    galaxy_type: str | None = None,
    inspect: bool = True,
) -> dict | None:
    """Segment (unless ``segmap`` is given) and clean one stamp; None if no central object.

    ``window`` (the stamp with ``margin`` pixels more on each side) is what sep segments, so
    that neighbours cut by the stamp's edge are measured whole; ``radius`` (catalogue, pixels)
    sets the reach of the central galaxy's family; ``galaxy_type`` (catalogue) tells a smooth
    galaxy, which sep should not split, from an irregular one (used only without the galaxy
    map, :func:`galaxy_segments`, which ``galaxy_smoothing`` 0 turns off). ``inspect`` False:
    no exclusion (``reasons`` stays empty).
    """
    if segmap is None:
        image, m = (window, margin) if window is not None else (stamp, 0)
        segmap, central = segment_stamp(
            image,
            noise,
            params["detect_thresh"],
            params["detect_minarea"],
            params["deblend_cont"],
            params["central_max_offset"],
            params["deblend_nthresh"],
        )
    else:
        image, m = stamp, 0
        segmap = np.asarray(segmap, dtype=np.int32)
        central = central_label(segmap)
    if central == 0:
        return None
    labels = np.setdiff1d(np.unique(segmap), [0])
    props = segment_properties(image, segmap, labels)
    family = central_family(segmap, props, central, radius, params["central_merge_radius"])
    galaxy = galaxy_segments(image, noise, segmap, family, params, radius)
    ours = np.isin(props["label"], family)
    threshold = params["detect_thresh"] * noise
    grow = (params["mask_sb_fraction"], params["mask_growth_max"])
    grown = None
    if params["neighbour_mask"] == "scaled":
        others = {k: v[~ours] for k, v in props.items()}
        grown = grown_ellipses(segmap.shape, others, threshold, *grow)
    if params["faint_smoothing"] > 0:
        smoothed = faint_segmentation(
            image,
            noise,
            params["faint_smoothing"],
            params["faint_thresh"],
            params["deblend_cont"],
            params["deblend_nthresh"],
        )
        own = faint_central_label(smoothed, np.isin(segmap, family))
        faint = (smoothed > 0) & (smoothed != own)
        if galaxy:  # faint pieces of the central galaxy itself (its deblended outskirts)
            faint &= ~np.isin(smoothed, mostly_within(smoothed, galaxy["mask"]))
        grown = faint if grown is None else grown | faint
    iterations = params["dilate_iterations"]
    replaced = neighbour_region(segmap, family, iterations, grown)
    touching = touching_segments(segmap, family)
    crop = (slice(m, m + stamp.shape[0]), slice(m, m + stamp.shape[1]))
    segmap_full = segmap
    segmap, replaced = np.ascontiguousarray(segmap[crop]), np.ascontiguousarray(replaced[crop])
    clean, mask, sources = clean_stamp(stamp, segmap, family, iterations, noise, rng, replaced)
    extent = galaxy["mask"][crop] if galaxy and galaxy["central"] else None
    loss = central_loss_estimate(stamp, replaced, mask, extent)
    fluxes = ndimage.sum_labels(np.maximum(image, 0.0), segmap_full, family)
    core = radius if galaxy else 0.0
    pieces = outer_pieces(props, family, central, core, m + stamp.shape[0] // 2)
    if galaxy:  # a companion keeps its own peak at the galaxy map's scale; clumps do not
        pieces &= own_peaks(image, segmap_full, family, galaxy["smoothing"])
    component = float(np.max(fluxes[pieces], initial=0.0))
    share = component / max(float(np.sum(fluxes)), 1e-30)
    asymmetry = 0.0
    if galaxy:
        touching = galaxy["touching"]
        split = False
        asymmetry = smooth_asymmetry(image, galaxy["mask"], galaxy["smoothing"])
    else:
        split = len(family) > 1 and galaxy_type is not None and galaxy_type != "irr"
    reasons = (
        inspection_reasons(params, loss, share, len(touching), split, asymmetry) if inspect else []
    )
    return {
        "segmap": segmap,
        "clean": clean,
        "mask": mask,
        "replaced": replaced,
        "fill_sources": sources,
        "n_neighbours": int(len(np.setdiff1d(np.unique(segmap), [0, *family]))),
        "family": len(family),
        "loss_estimate": loss,
        "component_share": share,
        "asymmetry": asymmetry,
        "touching": int(len(touching)),
        "split": bool(split),
        "reasons": reasons,
        "excluded": bool(reasons),
    }


def own_peaks(
    image: np.ndarray, segmap: np.ndarray, labels: list[int], smoothing: float
) -> np.ndarray:
    """For each label (in order): whether the image smoothed by a Gaussian of ``smoothing``
    pixels (sigma) has a local maximum inside the segment, off its edge. Another galaxy keeps
    its own peak at the galaxy map's scale; a chunk of a clumpy disc or spiral, whose light
    rises towards the galaxy's centre, does not."""
    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float64), smoothing)
    local = smooth == ndimage.maximum_filter(smooth, size=3)
    inner = [ndimage.binary_erosion(segmap == label) for label in labels]
    return np.asarray([bool((local & pixels).any()) for pixels in inner], dtype=bool)


def outer_pieces(props: dict, family: list[int], central: int, radius: float, centre: int):
    """Which pieces of the family (in its order) can be another galaxy: not the central
    segment, and centred beyond ``CORE_RADII`` x ``radius`` from the stamp's centre (the
    nuclei of a merger lie within);
    ``radius`` 0 or NaN: every piece but the central segment."""
    index = np.searchsorted(props["label"], family)
    dist = np.hypot(props["x"][index] - centre, props["y"][index] - centre)
    far = dist > CORE_RADII * radius if np.isfinite(radius) and radius > 0 else True
    return (np.asarray(family) != central) & far


def inspection_on(params: dict, source: str, sky: dict | None, seed: int) -> bool:
    """Whether the automatic inspection runs: ``inspect`` on/off, or ``auto``: off for an
    input already inspected by eye (the candels-blender stamps), on otherwise. Where it runs
    and ``inspect_check`` > 0, its keep and rejection rates on GalSim shapes are logged."""
    mode = params.get("inspect", "auto")
    on = mode == "on" or (mode == "auto" and source not in INSPECTED_BY_EYE)
    log.info("automatic inspection: %s (stamps.inspect: %s, source %s)", on, mode, source)
    if on and sky and params.get("inspect_check", 0) > 0:
        log_inspection_check(params, sky, seed)
    return on


def log_inspection_check(params: dict, sky: dict, seed: int) -> pd.DataFrame:
    """Run the inspection on ``inspect_check`` GalSim stamps of each kind; log the rates."""
    from blendphot.stamps.inspection import inspection_check

    table = inspection_check(params, sky, int(params["inspect_check"]), seed)
    for row in table.itertuples():
        what = "rejected" if row.kind == "blend" else "kept"
        count = row.rejected if row.kind == "blend" else row.kept
        log.info(
            "inspection check: %s %s %d/%d (%.0f%%) [%s]",
            row.kind, what, count, row.n, 100 * row.rate, row.reasons or "no exclusion",
        )  # fmt: skip
    return table


def inspection_reasons(
    params: dict, loss: float, share: float, touching: int, split: bool, asymmetry: float = 0.0
) -> list[str]:
    """Why the automatic inspection (the paper's visual one) excludes a stamp; [] keeps it.

    ``loss``: cleaning replaced more of the central's light than ``inspect_max_loss``
    (with the galaxy map: counted inside the central galaxy's extent there);
    ``component``: a piece of the central's family centred beyond ``CORE_RADII`` catalogue
    radii holds more than ``inspect_max_component`` of its flux (with the galaxy map: only a
    piece with its own peak at the map's scale, :func:`own_peaks`); ``blended``
    (``inspect_blended``): an originally blended system, i.e. another galaxy of the galaxy map
    touches the central's (without the galaxy map: another segment touches the central's at
    the detection isophote, or a smooth galaxy came out of sep in several pieces);
    ``asymmetric``: the galaxy map's central galaxy, smoothed at the map's scale, is more
    asymmetric under a half-turn about the centre than ``inspect_max_asymmetry``
    (:func:`~blendphot.stamps.cleaning.smooth_asymmetry`): a companion too close to have a peak
    or a segment of its own. Each limit null: that rule off.
    """
    reasons = []
    if params["inspect_max_loss"] is not None and loss > params["inspect_max_loss"]:
        reasons.append("loss")
    if params["inspect_max_component"] is not None and share > params["inspect_max_component"]:
        reasons.append("component")
    if params["inspect_blended"] and (touching > 0 or split):
        reasons.append("blended")
    limit = params.get("inspect_max_asymmetry")
    if limit is not None and asymmetry > limit:
        reasons.append("asymmetric")
    return reasons


def _keep(out: StampSet, stamp: np.ndarray, result: dict, row: dict, noise: float) -> bool:
    """Record one processed stamp in the report; append it unless the inspection excluded it.
    Returns True when it was kept."""
    summary = {
        "n_neighbours": result["n_neighbours"],
        "central_segments": result["family"],
        "replaced_fraction": float(result["replaced"].mean()),
        "loss_estimate": float(result["loss_estimate"]),
        "component_share": float(result["component_share"]),
        "asymmetry": float(result["asymmetry"]),
        "touching": result["touching"],
        "split": result["split"],
        "excluded": bool(result["excluded"]),
        "reasons": "+".join(result["reasons"]),
    }
    out.report.append({k: row[k] for k in ("id", "type", "mag")} | summary)
    if result["excluded"]:
        out.skipped["inspection"] += 1
        out.excluded.append(row["id"])
        return False
    out.raw.append(stamp)
    out.segmaps.append(result["segmap"])
    out.clean.append(result["clean"])
    out.masks.append(result["mask"])
    out.rows.append(
        {
            **row,
            "noise": float(noise),
            "n_neighbours": result["n_neighbours"],
            "replaced_fraction": summary["replaced_fraction"],
        }
    )
    return True


def _write_stamps(out: StampSet, path: Path, attrs: dict, columns: list[str]) -> pd.DataFrame:
    """Write the stamps HDF5 (atomically); return the catalogue rows written."""
    if not out.rows:
        raise InputError(None, "no galaxy passed the selection and stamp cutting")
    kept = pd.DataFrame(out.rows)
    kept = kept[[c for c in columns if c in kept.columns] + ["noise", "n_neighbours"]
                + ["replaced_fraction"]]  # fmt: skip
    stacks = [
        ("image_raw", out.raw, np.float32),
        ("segmap_raw", out.segmaps, np.int32),
        ("image", out.clean, np.float32),
        ("mask", out.masks, np.uint8),
    ]
    if out.truth:
        stacks.append((TRUTH_DATASET, out.truth, np.float32))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for name, stack, dtype in stacks:
            h5.create_dataset(name, data=np.stack(stack).astype(dtype), track_times=False)
        write_table(h5.create_group("catalog"), kept)
        h5.attrs.update({**attrs, **{f"skipped_{k}": v for k, v in out.skipped.items()}})
    return kept


def _finish(
    out: StampSet,
    before: pd.DataFrame,
    after: pd.DataFrame,
    attrs: dict,
    paths: dict,
    columns: list[str],
) -> dict:
    """Write the stamps file, Table 1 and the cleaning report; log and return the counts."""
    cuts = {**after.attrs.get("cuts", {}), **out.skipped}
    if not out.rows:
        counts = ", ".join(f"{name} {n}" for name, n in cuts.items())
        raise InputError(
            paths["source"],
            f"no galaxy passed the selection and stamp cutting ({counts}: objects in the "
            "catalogue, then removed by each cut in turn)",
        )
    kept = _write_stamps(out, paths["stamps"], attrs, columns)
    write_csv(table1(before, after.loc[~after["id"].isin(out.excluded)]), paths["table1"])
    report = pd.DataFrame(out.report)
    if "neighbour_total" in report:
        log.info("cleaning measured against the truth: %s", summarise_cleaning(report))
    if paths.get("cleaning") is not None:
        write_csv(report, paths["cleaning"], float_format="%.6g")
    counts = {**cuts, "selected": len(after), "stamps": len(kept)}
    log.info("stamps: %s", counts)
    return counts


def _base_attrs(params: dict, seed: int, noise: float, zeropoint: float, source: str) -> dict:
    """Attributes every stamps file carries."""
    return {
        "noise": float(noise),
        "zeropoint": float(zeropoint),
        "seed": seed,
        "config_hash": config_hash(params),
        "version": __version__,
        "source": source,
    }


def _is_synthetic(sky: dict | None, header) -> bool:
    """True when the mosaic is a sky blendphot drew (synthetic or COSMOS): its truth can be
    redrawn."""
    source = (sky or {}).get("source")
    return source in ("synthetic", "cosmos") and header.get("SKYSRC") == source


def render_neighbours(
    catalog: pd.DataFrame, central_id, sky: dict, x0: int, y0: int, size: int
) -> np.ndarray:
    """The noiseless light of the stamp's neighbours (synthetic sky): every other catalogue
    object whose centre lies on the size x size grid with corner (x0, y0), drawn alone."""
    x = catalog["x"].to_numpy(dtype=float) - x0
    y = catalog["y"].to_numpy(dtype=float) - y0
    on = (x >= -0.5) & (x < size - 0.5) & (y >= -0.5) & (y < size - 0.5)
    on &= catalog["id"].to_numpy() != central_id
    total = np.zeros((size, size), dtype=np.float64)
    for other in catalog.loc[on].to_dict("records"):
        total += render_truth_stamp(other, sky, x0, y0, size)
    return total


def build_stamps(
    mosaic_path: Path,
    catalog_path: Path,
    params: dict,
    seed: int,
    out_path: Path,
    table1_path: Path,
    sky: dict | None = None,
    cleaning_path: Path | None = None,
) -> dict:
    """Select galaxies, cut, segment and clean their stamps from a mosaic; write the outputs.

    ``sky`` is the config's sky section: for the synthetic source it lets the stage redraw each
    central galaxy alone (``image_true``) and measure the cleaning; for the ``fits`` source it
    holds the column mapping, pixel origin, HDU and noise level.
    """
    fits_cfg = (sky or {}).get("fits") or {}
    is_fits = bool(sky) and sky.get("source") == "fits"
    mosaic, header = read_mosaic(mosaic_path, fits_cfg.get("hdu") if is_fits else None)
    zeropoint = float(header.get("MAGZERO", (sky or {}).get("zeropoint", 25.96)))
    columns = fits_cfg.get("columns") if is_fits else None
    catalog = read_catalog(catalog_path, columns, zeropoint)
    origin = int(fits_cfg.get("pixel_origin", 1)) if is_fits else 0
    catalog["x"], catalog["y"] = pixel_positions(catalog, header, mosaic_path, catalog_path, origin)
    fixed_noise = header.get("NOISE", fits_cfg.get("noise") if is_fits else None)
    truth = _is_synthetic(sky, header)
    noiseless = None
    if truth:
        noiseless = mosaic - mosaic_noise(mosaic.shape, float(header["NOISE"]), int(header["SEED"]))
    before, after = select_galaxies(
        catalog,
        params["mag_max"],
        params["prob_threshold"],
        params["exclude_ids"],
        params["isolation"],
    )
    rng = np.random.default_rng([seed, STAGE_STREAM])
    out = StampSet()
    source = sky["source"] if truth else "fits"
    inspect = inspection_on(params, source, sky, seed)
    height, width = mosaic.shape
    for row in after.to_dict("records"):
        x, y = row["x"], row["y"]
        if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < width and 0 <= y < height):
            out.skipped["outside"] += 1
            continue
        stamp = cut_stamp(mosaic, x, y, STAMP_SIZE)
        if stamp is None:
            out.skipped["edge"] += 1
            continue
        if not np.isfinite(stamp).all() or (stamp == 0).mean() > 0.1:
            out.skipped["no_data"] += 1
            continue
        noise = float(fixed_noise) if fixed_noise else estimate_noise(stamp)
        window, margin = cut_window(mosaic, x, y, STAMP_SIZE, params["segment_margin"])
        if not np.isfinite(window).all():
            window, margin = stamp, 0
        radius = float(row.get("radius", np.nan))
        result = process_stamp(
            stamp, params, noise, rng, None, radius, window, margin, row.get("type"), inspect
        )
        if result is None:
            out.skipped["no_detection"] += 1
            continue
        kept = _keep(out, stamp, result, row, noise)
        if truth:
            x0, y0 = cut_origin(x, y, STAMP_SIZE)
            central = render_truth_stamp(row, sky, x0, y0, STAMP_SIZE)
            if kept:
                out.truth.append(central)
            everything = noiseless[y0 : y0 + STAMP_SIZE, x0 : x0 + STAMP_SIZE]
            neighbours = render_neighbours(catalog, row["id"], sky, x0, y0, STAMP_SIZE)
            out.report[-1].update(
                stamp_cleaning_metrics(
                    stamp,
                    result["clean"],
                    result["mask"],
                    result["replaced"],
                    central,
                    neighbours,
                    result["fill_sources"],
                    outside_true=everything.astype(np.float64) - central - neighbours,
                )
            )
    noise_attr = fixed_noise or float(np.median([r["noise"] for r in out.rows] or [np.nan]))
    attrs = _base_attrs(params, seed, noise_attr, zeropoint, source)
    paths = {"stamps": out_path, "table1": table1_path, "cleaning": cleaning_path}
    columns = list(dict.fromkeys([*catalog.columns, "type"]))
    return _finish(out, before, after, attrs, {**paths, "source": catalog_path}, columns)


def build_stamps_candels(
    images_path: Path,
    segmaps_path: Path,
    catalog_path: Path,
    params: dict,
    sky: dict,
    seed: int,
    out_path: Path,
    table1_path: Path,
    cleaning_path: Path | None = None,
) -> dict:
    """The candels-blender stamps through the same selection, segmentation and cleaning.

    The stamps are already centred 128x128 cut-outs; with ``segmentation: provided`` the
    published SExtractor maps are used, otherwise sep segments each stamp. The noise is
    measured per stamp (sigma-clipped).
    """
    images, segmaps, catalog = read_candels_blender(
        images_path, segmaps_path, catalog_path, float(sky["zeropoint"])
    )
    before, after = select_galaxies(
        catalog, params["mag_max"], params["prob_threshold"], params["exclude_ids"]
    )
    rng = np.random.default_rng([seed, STAGE_STREAM])
    out = StampSet()
    provided = params["segmentation"] == "provided"
    inspect = inspection_on(params, "candels_blender", sky, seed)
    for row in after.to_dict("records"):
        index = int(row["stamp_index"])
        stamp = np.array(images[index], dtype=np.float32)  # a writable copy of the map
        if not np.isfinite(stamp).all():
            out.skipped["no_data"] += 1
            continue
        noise = estimate_noise(stamp)
        segmap = segmaps[index] if provided else None
        radius = float(row.get("radius", np.nan))
        kind = row.get("type")
        result = process_stamp(
            stamp, params, noise, rng, segmap, radius, galaxy_type=kind, inspect=inspect
        )
        if result is None:
            out.skipped["no_detection"] += 1
            continue
        _keep(out, stamp, result, row, noise)
    noise_attr = float(np.median([r["noise"] for r in out.rows] or [np.nan]))
    attrs = _base_attrs(params, seed, noise_attr, float(sky["zeropoint"]), "candels_blender")
    paths = {"stamps": out_path, "table1": table1_path, "cleaning": cleaning_path}
    columns = list(dict.fromkeys([*catalog.columns, "type"]))
    return _finish(out, before, after, attrs, {**paths, "source": catalog_path}, columns)
