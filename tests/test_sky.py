import galsim
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from blendphot.errors import InputError
from blendphot.sky import (
    CATALOG_COLUMNS,
    SHAPE_COLUMNS,
    draw_galaxy_catalog,
    mosaic_noise,
    read_catalog,
    read_mosaic,
    render_truth_stamp,
)
from blendphot.sky.synthetic import (
    DISC_CLUMPY,
    bulge_disc_hlr,
    draw_object,
    galaxy_profile,
    make_psf,
    psf_fwhm,
)


def test_catalog_contract_and_types(tiny_config):
    sky = tiny_config["sky"]
    cat = draw_galaxy_catalog(sky, seed=3)
    assert list(cat.columns) == [*CATALOG_COLUMNS, *SHAPE_COLUMNS]
    primaries = cat[cat["primary"]]
    assert len(primaries) == sky["n_galaxies"]
    assert set(primaries["type"]) <= {"sph", "disk", "sphd", "irr"}
    assert cat["id"].is_unique
    # primaries follow the calibrated priors: the paper's released set spans 18.0-23.0
    assert primaries["mag"].between(18.0, 23.0).all()
    lo, hi = sky["neighbour_mag_range"]
    assert cat.loc[~cat["primary"], "mag"].between(lo, hi).all()
    expected_flux = 10 ** (-0.4 * (cat["mag"] - 25.96))
    np.testing.assert_allclose(cat["flux"], expected_flux)
    # morphology probabilities select each primary as its own type, and no neighbour
    from blendphot.stamps import classify_morphology

    types = classify_morphology(cat["p_sph"], cat["p_disk"], cat["p_irr"])
    assert (types[cat["primary"]] == primaries["type"]).all()
    assert (types[~cat["primary"]] == "").all()


def test_same_seed_same_catalog(tiny_config):
    a = draw_galaxy_catalog(tiny_config["sky"], seed=3)
    b = draw_galaxy_catalog(tiny_config["sky"], seed=3)
    c = draw_galaxy_catalog(tiny_config["sky"], seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["mag"].equals(c["mag"])


def _closest_approach(cat, separation):
    """Per neighbour: min over primaries of distance - separation x (R_primary + R_neighbour)."""
    prim, nb = cat[cat["primary"]], cat[~cat["primary"]]
    dx = nb["x"].to_numpy()[:, None] - prim["x"].to_numpy()[None, :]
    dy = nb["y"].to_numpy()[:, None] - prim["y"].to_numpy()[None, :]
    reach = nb["radius"].to_numpy()[:, None] + prim["radius"].to_numpy()[None, :]
    return (np.hypot(dx, dy) - separation * reach).min(axis=1)


def test_primaries_are_isolated_galaxies(tiny_config):
    sky = {**tiny_config["sky"], "n_galaxies": 200, "neighbour_min_separation": 2.5}
    cat = draw_galaxy_catalog(sky, seed=5)
    gaps = _closest_approach(cat, 2.5)
    assert len(gaps) > 200 and (gaps >= 0).mean() > 0.98
    anywhere = draw_galaxy_catalog({**sky, "neighbour_min_separation": 0.0}, seed=5)
    assert (_closest_approach(anywhere, 2.5) < 0).mean() > 0.1
    # most neighbours still fall in their primary's 128 x 128 stamp: the cleaning has work
    near = _closest_approach(cat, 0.0)
    assert (near < 64).mean() > 0.5


@pytest.mark.parametrize("model, low, high", [("moffat", 0.175, 0.185), ("airy", 0.17, 0.2)])
def test_psf_is_hst_like(tiny_config, model, low, high):
    sky = {**tiny_config["sky"], "psf_model": model}
    assert low < psf_fwhm(sky) < high


def test_bulge_disc_radius_is_the_half_light_radius():
    row = {"id": 1, "type": "sphd", "radius": 10.0, "q": 1.0, "beta": 0.0, "flux": 1.0,
           "bulge_fraction": 0.35}  # fmt: skip
    image = galaxy_profile(row, 1.0).drawImage(nx=400, ny=400, scale=0.5, method="no_pixel")
    assert image.calculateHLR(flux=image.array.sum()) == pytest.approx(10.0, rel=0.03)
    assert bulge_disc_hlr(0.0) == pytest.approx(1.0, rel=1e-3)


def test_every_object_injects_exactly_its_flux(tiny_config):
    sky = tiny_config["sky"]
    cat = draw_galaxy_catalog(sky, seed=3)
    psf, method = make_psf(sky)
    for row in cat.groupby("type").head(2).to_dict("records"):
        pixels, _, _ = draw_object(row, psf, method, sky["pixel_scale"])
        assert pixels.sum() == pytest.approx(row["flux"], rel=1e-10)
        assert pixels.min() > -1e-3 * pixels.max()


def test_mosaic_has_wcs_zeropoint_and_flux(tiny_data):
    image, header = read_mosaic(tiny_data["mosaic"])
    sky = tiny_data["config"]["sky"]
    assert header["MAGZERO"] == 25.96
    assert header["NOISE"] == sky["noise_sigma"]
    assert header["PSFMODEL"] == sky["psf_model"]
    wcs = WCS(header)
    assert wcs.has_celestial
    cat = read_catalog(tiny_data["catalog"])
    assert list(cat.columns) == [*CATALOG_COLUMNS, *SHAPE_COLUMNS]
    x, y = wcs.all_world2pix(cat["ra"], cat["dec"], 0)
    np.testing.assert_allclose(x, cat["x"], atol=1e-6)
    np.testing.assert_allclose(y, cat["y"], atol=1e-6)
    # the noise is reproducible from the header: what is left is exactly the drawn light
    noiseless = image - mosaic_noise(image.shape, header["NOISE"], header["SEED"])
    assert noiseless.min() > -1e-3 * noiseless.max()  # FFT ringing only
    assert noiseless.sum(dtype=np.float64) == pytest.approx(cat["flux"].sum(), rel=0.01)
    assert np.std(image[:15, :15]) == pytest.approx(header["NOISE"], rel=0.3)


def test_truth_stamp_is_the_injected_light(tiny_data):
    """An object's truth stamp equals the noiseless mosaic where nothing else is drawn."""
    image, header = read_mosaic(tiny_data["mosaic"])
    sky = tiny_data["config"]["sky"]
    cat = read_catalog(tiny_data["catalog"])
    noiseless = image - mosaic_noise(image.shape, header["NOISE"], header["SEED"])
    # a neighbour-free primary: nothing else within 100 px
    primaries = cat[cat["primary"]]
    for row in primaries.to_dict("records"):
        dist = np.hypot(cat["x"] - row["x"], cat["y"] - row["y"])
        if (dist[cat["id"] != row["id"]] > 110).all():
            break
    else:
        pytest.fail("no isolated primary in the tiny sky")
    x0, y0 = int(round(row["x"])) - 32, int(round(row["y"])) - 32
    truth = render_truth_stamp(row, sky, x0, y0, 64)
    np.testing.assert_allclose(truth, noiseless[y0 : y0 + 64, x0 : x0 + 64], atol=2e-6)
    assert truth.sum() <= row["flux"] * (1 + 1e-6)


def _write(tmp_path, df, name="cat.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def _good_catalog():
    return pd.DataFrame(
        {
            "id": [1, 2],
            "x": [10.0, 20.0],
            "y": [10.0, 20.0],
            "mag": [21.0, 22.0],
            "flux": [1.0, 2.0],
            "radius": [3.0, 4.0],
            "z": [0.5, 0.6],
            "type": ["sph", "disk"],
            "p_sph": [0.9, 0.1],
            "p_disk": [0.1, 0.9],
            "p_irr": [0.0, 0.0],
        }
    )


def test_read_catalog_accepts_csv(tmp_path):
    cat = read_catalog(_write(tmp_path, _good_catalog()))
    assert len(cat) == 2


def test_read_catalog_missing_column(tmp_path):
    path = _write(tmp_path, _good_catalog().drop(columns=["radius"]))
    with pytest.raises(InputError, match="missing column.*radius") as err:
        read_catalog(path)
    assert str(path) in str(err.value)


def test_read_catalog_duplicate_ids(tmp_path):
    df = _good_catalog()
    df.loc[1, "id"] = 1
    path = _write(tmp_path, df)
    with pytest.raises(InputError, match="duplicate id 1") as err:
        read_catalog(path)
    assert str(path) in str(err.value)


def test_read_catalog_nan_magnitude(tmp_path):
    df = _good_catalog()
    df.loc[0, "mag"] = np.nan
    path = _write(tmp_path, df)
    with pytest.raises(InputError, match="NaN") as err:
        read_catalog(path)
    assert str(path) in str(err.value)


def test_read_mosaic_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_mosaic(tmp_path / "nope.fits")
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"not a fits file at all")
    with pytest.raises(InputError):
        read_mosaic(bad)
    table_only = tmp_path / "t.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(table_only)
    with pytest.raises(InputError, match="no 2-D image"):
        read_mosaic(table_only)


def test_galsim_images_are_not_used_bare():
    """RandomKnots drawn without the PSF would ask for a huge FFT: profiles come convolved."""
    row = {"id": 1, "type": "irr", "radius": 6.0, "q": 0.7, "beta": 10.0, "flux": 5.0,
           "knot_fraction": 0.2, "n_knots": 30, "knot_seed": 5, "x": 50.0, "y": 50.0}  # fmt: skip
    psf, method = make_psf({"psf_model": "moffat", "psf_fwhm": 0.18, "pixel_scale": 0.06})
    a, _, _ = draw_object(row, psf, method, 0.06)
    b, _, _ = draw_object(row, psf, method, 0.06)
    np.testing.assert_array_equal(a, b)  # the knots come from the catalogue's seed
    assert isinstance(galaxy_profile(row, 0.06), galsim.GSObject)


def test_realistic_shapes_keep_the_calibrated_columns(tiny_config):
    """Realistic shapes come from their own seed branch: the catalogue is that of the smooth
    sky but for the shape columns, and reproducible."""
    sky = {**tiny_config["sky"], "n_galaxies": 200}
    real = draw_galaxy_catalog({**sky, "realistic_shapes": True}, seed=3)
    smooth = draw_galaxy_catalog({**sky, "realistic_shapes": False}, seed=3)
    pd.testing.assert_frame_equal(real, draw_galaxy_catalog({**sky, "realistic_shapes": True}, 3))
    same = [*CATALOG_COLUMNS, "q", "beta", "bulge_fraction", "knot_seed"]
    pd.testing.assert_frame_equal(real[same], smooth[same])
    assert real["realistic"].all() and not smooth["realistic"].any()
    assert not smooth[["arm_fraction", "knot_offset"]].to_numpy().any()
    by_type = real.groupby("type")
    clumpy = (by_type.get_group("disk")["knot_fraction"] > 0).mean()
    assert abs(clumpy - DISC_CLUMPY["disk"]) < 0.15  # the calibrated share (binomial, ~45 discs)
    assert (by_type.get_group("sphd")["arm_fraction"] > 0).any()
    assert (by_type.get_group("irr")["knot_offset"] > 0).all()
    assert (by_type.get_group("sph")[["knot_fraction", "arm_fraction"]] == 0).all().all()


def _moments_axis_ratio(image: np.ndarray) -> float:
    yy, xx = np.indices(image.shape)
    w = np.clip(image, 0, None) / np.clip(image, 0, None).sum()
    mx, my = (w * xx).sum(), (w * yy).sum()
    cov = np.cov(np.vstack([xx.ravel() - mx, yy.ravel() - my]), aweights=w.ravel())
    low, high = np.linalg.eigvalsh(cov)
    return float(np.sqrt(low / high))


def test_realistic_discs_are_inclined_thick_discs_and_irregulars_lopsided():
    from blendphot.sky.synthetic import THICKNESS, inclination

    base = {"id": 1, "radius": 12.0, "beta": 0.0, "flux": 10.0, "x": 80.0, "y": 80.0,
            "bulge_fraction": 0.3, "knot_fraction": 0.0, "n_knots": 0, "knot_seed": 5,
            "arm_fraction": 0.0, "knot_offset": 0.0, "realistic": True}  # fmt: skip
    psf, method = make_psf({"psf_model": "moffat", "psf_fwhm": 0.18, "pixel_scale": 0.06})
    assert inclination(1.0, 0.25) == pytest.approx(0.0)
    assert inclination(THICKNESS["disk"], THICKNESS["disk"]) == pytest.approx(90.0)
    edge_on = {**base, "type": "disk", "q": THICKNESS["disk"]}
    pixels, _, _ = draw_object(edge_on, psf, method, 0.06)
    assert pixels.sum() == pytest.approx(10.0, rel=1e-10)
    assert pixels.min() > -1e-3 * pixels.max()
    assert _moments_axis_ratio(pixels) < 0.45
    face_on, _, _ = draw_object({**edge_on, "q": 1.0}, psf, method, 0.06)
    assert _moments_axis_ratio(face_on) > 0.9
    clumpy = {**base, "type": "sphd", "q": 0.8, "knot_fraction": 0.15, "n_knots": 12,
              "arm_fraction": 0.2}  # fmt: skip
    a, _, _ = draw_object(clumpy, psf, method, 0.06)
    b, _, _ = draw_object(clumpy, psf, method, 0.06)
    smooth, _, _ = draw_object({**clumpy, "realistic": False}, psf, method, 0.06)
    np.testing.assert_array_equal(a, b)  # clumps and arms come from the catalogue's seed
    assert np.abs(a - smooth).sum() > 0.2 * a.sum()
    irr = {**base, "type": "irr", "q": 0.9, "knot_fraction": 0.3, "n_knots": 30,
           "knot_offset": 0.8}  # fmt: skip
    lopsided, x0, y0 = draw_object(irr, psf, method, 0.06)
    yy, xx = np.indices(lopsided.shape)
    centroid = np.array([(lopsided * xx).sum(), (lopsided * yy).sum()]) / lopsided.sum()
    offset = np.hypot(*(centroid + [x0, y0] - [80.0, 80.0]))
    assert offset > 0.5  # pixels: the clumps pull the light to one side
