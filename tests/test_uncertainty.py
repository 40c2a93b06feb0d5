"""Per-galaxy flux uncertainties: the oracle's Cramer-Rao errors, sep's errors, the
conformal calibration and its coverage metrics, on small arrays."""

import numpy as np
import pandas as pd
import pytest

from blendphot.evaluate.catalog import Method, methods_in
from blendphot.evaluate.oracle import amplitude_errors, fit_amplitudes
from blendphot.evaluate.uncertainty import (
    LEVELS,
    ONE_SIGMA,
    binned_coverage,
    bootstrap_coverage_error,
    bootstrap_table,
    bootstrap_weights,
    bootstrap_worst_bin_noise,
    calibrated_columns,
    conformal_bounds,
    fit_calibration,
    reliability_table,
    uncertainty_report,
    uncertainty_table,
)


def _profiles(n: int, size: int, rng) -> np.ndarray:
    """Two overlapping Gaussian blobs per blend (N, 2, S, S), unit peak."""
    y, x = np.mgrid[:size, :size]
    centres = rng.uniform(size * 0.3, size * 0.7, (n, 2, 2))
    widths = rng.uniform(1.0, 3.0, (n, 2))
    return np.exp(
        -((x - centres[..., 0, None, None]) ** 2 + (y - centres[..., 1, None, None]) ** 2)
        / (2 * widths[..., None, None] ** 2)
    )


def test_oracle_cramer_rao_errors_are_calibrated_by_construction():
    rng = np.random.default_rng(1)
    templates = _profiles(4000, 12, rng)
    amps = rng.uniform(0.5, 3.0, (4000, 2))
    noise = 0.3
    blends = np.einsum("ni,nixy->nxy", amps, templates) + rng.normal(0, noise, (4000, 12, 12))
    est = fit_amplitudes(blends, templates)
    err = amplitude_errors(templates, noise)
    z = np.abs(est - amps) / err
    assert np.mean(z < 1) == pytest.approx(ONE_SIGMA, abs=0.02)
    assert np.mean(z < 1.96) == pytest.approx(0.95, abs=0.01)
    # the error grows as the two templates overlap more (the Gram matrix nearly singular)
    near = np.stack([templates[:, 0], np.roll(templates[:, 0], 1, axis=-1)], 1)
    alone = noise / np.sqrt((templates[:, 0] ** 2).sum(axis=(1, 2)))
    ratio = amplitude_errors(near, noise)[:, 0] / alone
    assert (ratio > 1).all() and np.median(ratio) > 2


def test_conformal_bounds_have_the_finite_sample_guarantee():
    t = np.arange(99, dtype=float)  # 99 residuals: 0..98
    lo, hi = conformal_bounds(t, 0.9)
    # each tail may hold at most 5%: with n + 1 = 100, the 95th value from either end
    assert (lo, hi) == (4.0, 94.0)
    assert conformal_bounds(np.arange(5.0), 0.99) == (0.0, 4.0)  # too few: the whole range


def _catalog(n: int, rng, scale_bias: float = 1.0, with_raw: bool = True) -> pd.DataFrame:
    """A catalogue of one method 'm' whose errors are heteroscedastic, with truth."""
    true = rng.uniform(1.0, 10.0, (n, 2))
    sigma = 0.05 * true * rng.uniform(0.5, 3.0, (n, 2))
    flux = true + sigma * rng.standard_t(5, (n, 2)) + 0.3 * sigma  # heavy tails, a bias
    cat = pd.DataFrame(
        {
            "detection": 2,
            "distance": rng.uniform(5, 40, n),
            "g1_mag": 25.96 - 2.5 * np.log10(true[:, 0]),
            "g2_mag": 25.96 - 2.5 * np.log10(true[:, 1]),
            "g1_rad": 5.0,
            "g2_rad": 4.0,
            "g1_type": "disk",
            "g2_type": "sph",
            "g1_flux": true[:, 0],
            "g2_flux": true[:, 1],
            "g1_flux_m": flux[:, 0],
            "g2_flux_m": flux[:, 1],
        }
    )
    cat["sep_separation"] = cat["distance"] / 9.0  # sep's measure of the overlap
    if with_raw:
        cat["g1_flux_m_err_raw"] = scale_bias * sigma[:, 0]
        cat["g2_flux_m_err_raw"] = scale_bias * sigma[:, 1]
    return cat


@pytest.mark.parametrize("with_raw", [True, False])
def test_calibration_on_validation_gives_nominal_coverage_on_test(with_raw):
    rng = np.random.default_rng(2)
    val, test = _catalog(3000, rng, 0.4, with_raw), _catalog(3000, rng, 0.4, with_raw)
    fits = fit_calibration(val, ["m"], [-1.0, 0.0, 1.0], 30)
    assert fits["m"]["normaliser"] == ("own width" if with_raw else "relative")
    for name, values in calibrated_columns(test, "m", fits["m"]).items():
        test[name] = values
    assert (test["g1_flux_m_p84"] > test["g1_flux_m_p16"]).all()
    method = Method("m", "m", 25.96)
    table = uncertainty_table(test, [method], fits)
    row = table[(table.selection == "all") & (table.role == "both")].iloc[0]
    assert row["coverage68"] == pytest.approx(100 * ONE_SIGMA, abs=3)
    assert row["coverage95"] == pytest.approx(95, abs=2)
    if with_raw:  # widths 0.4 times too small: the raw intervals under-cover
        assert row["coverage68_raw"] < 50
        assert row["nll"] < row["nll_raw"]
    else:
        assert np.isnan(row["coverage68_raw"])
    curves = reliability_table(test, [method], fits)
    assert len(curves) == len(LEVELS)
    assert (curves["coverage"] - curves["nominal"]).abs().max() < 4


def test_bad_widths_are_counted_and_not_covered():
    rng = np.random.default_rng(3)
    val, test = _catalog(500, rng), _catalog(500, rng)
    fits = fit_calibration(val, ["m"], [], 30)
    test.loc[:9, "g1_flux_m_err_raw"] = np.nan
    test.loc[10:19, "g1_flux_m_err_raw"] = -1.0
    table = uncertainty_table(test, [Method("m", "m", 25.96)], fits)
    central = table[(table.selection == "all") & (table.role == "central")].iloc[0]
    assert central["n_bad_width"] == 20
    good = uncertainty_table(test.iloc[20:], [Method("m", "m", 25.96)], fits)
    good = good[(good.selection == "all") & (good.role == "central")].iloc[0]
    # the 20 bad ones count as misses: coverage over all 500, not over the 480 good ones
    assert central["coverage68"] == pytest.approx(good["coverage68"] * 480 / 500, abs=1e-9)
    cal = calibrated_columns(test, "m", fits["m"])
    assert np.isnan(cal["g1_flux_m_err"][:20]).all()


def test_uncertainty_columns_are_not_methods_and_the_report_reads_the_metrics():
    rng = np.random.default_rng(4)
    cat = _catalog(400, rng)
    fits = fit_calibration(cat, ["m"], [0.0], 30)
    for name, values in calibrated_columns(cat, "m", fits["m"]).items():
        cat[name] = values
    methods = methods_in(cat, {}, 25.96, 25.67)
    assert [m.column for m in methods] == ["m"]
    metrics = uncertainty_table(cat, methods, fits).assign(n=1)
    from blendphot.evaluate.metrics import binned_table

    keys = ["method", "role", "axis", "type", "bin_low", "bin_high"]
    binned = binned_table(cat, methods).merge(binned_coverage(cat, methods, fits), on=keys)
    assert binned["coverage68"].notna().all()
    report = uncertainty_report(metrics, binned)
    assert list(report["method"]) == ["m"]
    assert report.filter(like="worst_bin").notna().all(axis=None)
    cat["g1_id"], cat["g2_id"] = np.arange(400) % 7, 7 + np.arange(400) % 5
    boot = bootstrap_table(cat, methods, fits, 200, 0)
    report = uncertainty_report(metrics, binned, boot)
    assert report.loc[0, "n_galaxies"] == 12
    columns = list(report.columns)  # each standard error and noise level beside its figure
    assert columns[columns.index("coverage68") + 1] == "coverage68_se"
    assert columns[columns.index("coverage68_raw") + 1] == "coverage68_raw_se"
    noise = "worst_bin_noise68_distance_over_radius"
    assert columns[columns.index("worst_bin68_distance_over_radius") + 1] == noise
    assert (report.filter(like="_se") > 0).all(axis=None)


def test_galaxy_bootstrap_sees_that_blends_share_galaxies():
    rng = np.random.default_rng(5)
    ids = np.arange(1200) % 24  # 24 galaxies, each in 50 blends
    flags = (rng.uniform(size=24) < 0.68)[ids]  # covered or not: a property of the galaxy
    weights = bootstrap_weights(ids, 2000, 0)
    assert weights.shape == (2000, 1200)
    assert (weights[:, ids == 3] == weights[:, [3]]).all()  # a galaxy's blends move together
    assert weights[:, :24].sum(axis=1) == pytest.approx(24)  # one draw per distinct galaxy
    clustered = bootstrap_coverage_error(flags, weights)
    p = flags.mean()
    assert clustered == pytest.approx(100 * np.sqrt(p * (1 - p) / 24), rel=0.25)
    naive = bootstrap_coverage_error(flags, bootstrap_weights(np.arange(1200), 2000, 0))
    assert clustered > 3 * naive  # resampling the blends would understate the noise
    bins = [ids % 6 == k for k in range(6)]
    assert bootstrap_worst_bin_noise(flags, bins, weights, 20) > 5
    assert bootstrap_worst_bin_noise(np.ones(1200, bool), bins, weights, 20) == 0
    assert np.isnan(bootstrap_worst_bin_noise(flags, bins, weights, 1000))  # no bin large enough


def test_separation_groups_calibrate_each_overlap_class():
    rng = np.random.default_rng(6)

    def overlapping(n):  # residuals 3x the stated width where sep's detections are close
        cat = _catalog(n, rng)
        cat["sep_separation"] = rng.uniform(0.5, 3.0, n)
        cat.loc[: n // 10, "sep_separation"] = np.nan  # sep did not find both
        close = (cat["sep_separation"] < 1.5).to_numpy()
        for g in ("g1", "g2"):
            offset = cat[f"{g}_flux_m"] - cat[f"{g}_flux"]
            cat[f"{g}_flux_m"] = cat[f"{g}_flux"] + np.where(close, 3.0, 1.0) * offset
        return cat, close

    (val, _), (test, close) = overlapping(3000), overlapping(3000)
    method = [Method("m", "m", 25.96)]
    for edges, expect_close in ((None, False), ([1.5], True)):
        fits = fit_calibration(val, ["m"], [], 30, False, edges)
        assert len(fits["m"]["n"]) == (2 if edges is None else 6)
        covered = {}
        for part in (close, ~close):
            table = uncertainty_table(test[part], method, fits)
            covered[part is close] = table.query("selection == 'all' and role == 'both'")[
                "coverage68"
            ].iloc[0]
        if expect_close:  # each overlap class at its nominal level
            assert covered[True] == pytest.approx(100 * ONE_SIGMA, abs=4)
            assert covered[False] == pytest.approx(100 * ONE_SIGMA, abs=4)
        else:  # pooled: the close blends under-cover
            assert covered[True] < 55
    with pytest.raises(ValueError, match="sep_separation"):
        fit_calibration(val.drop(columns="sep_separation"), ["m"], [], 30, False, [1.5])


def test_oracle_fits_the_present_amplitudes_of_k_slots():
    rng = np.random.default_rng(2)
    templates = np.concatenate([_profiles(50, 12, rng), _profiles(50, 12, rng)], axis=1)
    counts = rng.integers(2, 5, 50)
    present = np.arange(4)[None, :] < counts[:, None]
    templates[~present] = 0.0  # absent slots are zero, as in the layout
    amps = np.where(present, rng.uniform(0.5, 3.0, (50, 4)), 0.0)
    blends = np.einsum("ni,nixy->nxy", amps, templates)
    est = fit_amplitudes(blends, templates, present)
    assert np.array_equal(np.isnan(est), ~present)
    np.testing.assert_allclose(est[present], amps[present], rtol=1e-8)
    err = amplitude_errors(templates, np.full(50, 0.3), present)
    assert np.array_equal(np.isnan(err), ~present) and (err[present] > 0).all()
    # the general solve agrees with the pairs' closed form
    pair = templates[:, :2]
    both = np.ones((50, 2), bool)
    np.testing.assert_allclose(fit_amplitudes(blends, pair, both), fit_amplitudes(blends, pair))
    np.testing.assert_allclose(amplitude_errors(pair, 0.3, both), amplitude_errors(pair, 0.3))


def test_oracle_on_a_multi_galaxy_set_is_exact_without_noise_and_calibrated_with(tmp_path):
    import h5py

    from blendphot.evaluate.oracle import oracle_photometry
    from blendphot.testing import write_multi_set

    counts = np.random.default_rng(3).integers(2, 5, 150)
    path = write_multi_set(tmp_path / "multi.h5", counts, size=48, seed=4)
    result = oracle_photometry(path, tmp_path / "oracle.csv")
    roles = ["central", "companion", "g3", "g4"]
    assert list(result.columns) == ["id"] + [f"flux_{r}" for r in roles] + [
        f"flux_{r}_err" for r in roles
    ]
    with h5py.File(path) as h5:
        truth, noise = h5["flux"][()], float(h5.attrs["noise"])
    flux = result[[f"flux_{r}" for r in roles]].to_numpy()
    err = result[[f"flux_{r}_err" for r in roles]].to_numpy()
    present = np.isfinite(truth)
    assert np.array_equal(np.isfinite(flux), present) and np.array_equal(np.isfinite(err), present)
    z = np.abs(flux - truth)[present] / err[present]
    assert len(z) > 400 and np.mean(z < 1) == pytest.approx(ONE_SIGMA, abs=0.07)
    # the blend of n galaxies has sqrt(n) times the stamp noise: one galaxy alone would have
    # an error of at least that over the norm of its unit-flux template
    with h5py.File(path, "r+") as h5:
        h5["blend"][...] = h5["isolated_true"][()].sum(axis=1)  # noiseless blends
        norm = np.sqrt((h5["isolated_true"][()] ** 2).sum((2, 3)))[present]
    alone = noise * np.broadcast_to(np.sqrt(counts)[:, None], present.shape)[present] / norm
    exact = oracle_photometry(path, tmp_path / "exact.csv")
    fluxes = exact[[f"flux_{r}" for r in roles]].to_numpy()
    np.testing.assert_allclose(fluxes[present], truth[present], rtol=1e-6)
    assert (err[present] >= 0.999 * alone * truth[present]).all()


def test_magnitude_groups_calibrate_faint_and_bright_galaxies_each():
    """Relative errors that grow towards faint fluxes: one calibration for all covers the
    bright ones too widely and the faint ones too narrowly; equal-count groups of the
    method's own magnitude bring every own-magnitude bin near 68%."""
    from blendphot.evaluate.metrics import binned_table
    from blendphot.evaluate.uncertainty import magnitude_edges, measured_magnitudes

    def catalog(n, rng):
        cat = _catalog(n, rng, with_raw=False)
        for g in ("g1", "g2"):
            true = cat[f"{g}_flux"].to_numpy()
            relative = 0.3 / true  # 3% at the bright end, 30% at the faint one
            cat[f"{g}_flux_m"] = true * (1 + relative * rng.standard_normal(n))
        return cat

    rng = np.random.default_rng(7)
    val, test = catalog(4000, rng), catalog(4000, rng)
    edges = magnitude_edges(val["g1_flux_m"].to_numpy(), 3)
    inner = measured_magnitudes(val["g1_flux_m"].to_numpy())
    assert len(edges) == 2 and np.mean(inner < edges[0]) == pytest.approx(1 / 3, abs=0.01)
    methods = [Method("m", "m", 25.96)]
    keys = ["method", "role", "axis", "type", "bin_low", "bin_high"]
    worst = {}
    for groups in (1, 3):
        fits = fit_calibration(val, ["m"], [], 30, False, None, groups)
        assert len(fits["m"]["magnitude_edges"]) == groups - 1
        binned = binned_table(test, methods).merge(binned_coverage(test, methods, fits), on=keys)
        part = binned[(binned.role == "both") & (binned.axis == "own_magnitude")]
        assert len(part) == 6 and part["coverage68"].notna().all()
        worst[groups] = (part["coverage68"] - 68.27).abs().max()
    assert worst[1] > 15 and worst[3] < worst[1] / 2
