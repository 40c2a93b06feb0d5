"""The COSMOS sky source (issue 18) on a small sample written here in GalSim's on-disk format.

The files are those ``galsim_download_cosmos`` unpacks: ``real_galaxy_catalog_25.2.fits``
(one row per galaxy: image and PSF file names and HDUs, pixel scale, noise variance, ...),
``real_galaxy_catalog_25.2_fits.fits`` (the parametric fits: Sersic and bulge+disc, half-light
radii, fit status), ``real_galaxy_catalog_25.2_selection.fits`` (the quality columns of the
"marginal" cuts) and multi-HDU FITS files of galaxy and PSF images at 0.03"/px.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from blendphot.errors import ConfigError
from blendphot.sky.cosmos import check_cosmos_dir, cosmos_of, write_cosmos_sample
from blendphot.sky.synthetic import make_synthetic_sky
from blendphot.stamps import build_stamps, read_stamps

from .conftest import tiny_config_dict

N_COSMOS = 12


@pytest.fixture(scope="module")
def cosmos_dir(tmp_path_factory):
    return write_cosmos_sample(tmp_path_factory.mktemp("cosmos") / "COSMOS_25.2_training_sample")


def _cosmos_sky(cosmos_dir) -> dict:
    config = tiny_config_dict()
    sky = {**config["sky"], "source": "cosmos", "n_galaxies": 9, "neighbours_per_galaxy": 0.5}
    sky["cosmos"] = {"dir": str(cosmos_dir), "sample": "25.2", "exclusion_level": "marginal"}
    return {**config, "sky": sky}


def test_the_cosmos_sample_loads_through_galsim(cosmos_dir):
    config = _cosmos_sky(cosmos_dir)
    check_cosmos_dir(config["sky"]["cosmos"])
    cosmos = cosmos_of(config["sky"])
    assert cosmos.nobjects == N_COSMOS  # every galaxy passes the marginal cuts
    gal = cosmos.makeGalaxy(0, gal_type="real", noise_pad_size=0)
    assert gal.flux == pytest.approx(50.0, rel=0.05)


def test_cosmos_sky_is_real_galaxies_selected_as_the_synthetic_sky(cosmos_dir, tmp_path):
    config = _cosmos_sky(cosmos_dir)
    sky, seed = config["sky"], config["seed"]
    mosaic, catalog = tmp_path / "m.fits", tmp_path / "c.fits"
    make_synthetic_sky(sky, seed, mosaic, catalog)
    table = Table.read(catalog).to_pandas()
    synthetic = Table.read(_synthetic_catalog(config, tmp_path)).to_pandas()
    # the same calibrated catalogue as the synthetic sky, plus the COSMOS galaxy of each object
    for column in ("x", "y", "mag", "flux", "radius", "z"):
        np.testing.assert_array_equal(table[column], synthetic[column])
    assert table["cosmos_index"].between(0, N_COSMOS - 1).all()
    assert fits.getheader(mosaic)["SKYSRC"] == "cosmos"
    # bulges get the concentrated profiles (Sersic n >= 2.5 here: the last 6 of 12)
    types = table["type"].map(lambda v: v.decode() if isinstance(v, bytes) else v).str.strip()
    bulges = table.loc[types == "sph", "cosmos_index"]
    assert (bulges >= 6).all()
    # the stamps stage cuts them and redraws each central alone as the truth
    out = tmp_path / "s.h5"
    counts = build_stamps(mosaic, catalog, {**config["stamps"], "inspect": "off"}, seed, out,
                          tmp_path / "t1.csv", sky=sky)  # fmt: skip
    assert counts["stamps"] > 0
    h5, rows = read_stamps(out)
    with h5:
        assert h5.attrs["source"] == "cosmos"
        truth = h5["image_true"][()]
    np.testing.assert_allclose(truth.sum(axis=(1, 2)), rows["flux"], rtol=0.02)


def _synthetic_catalog(config, tmp_path):
    sky = {**config["sky"], "source": "synthetic"}
    path = tmp_path / "synthetic.fits"
    make_synthetic_sky(sky, config["seed"], tmp_path / "synthetic_m.fits", path)
    return path


@pytest.mark.parametrize(
    "damage, message",
    [
        ("dir", "does not exist"),
        ("real_galaxy_catalog_25.2_fits.fits", "lacks real_galaxy_catalog_25.2_fits.fits"),
        ("real_galaxy_images_25.2_n1.fits", "incomplete.*real_galaxy_images_25.2_n1.fits"),
    ],
)
def test_missing_or_incomplete_cosmos_sample_fails_with_the_download(tmp_path, damage, message):
    directory = write_cosmos_sample(tmp_path / "COSMOS_25.2_training_sample", n=2)
    cosmos = {"dir": str(directory), "sample": "25.2", "exclusion_level": "marginal"}
    if damage == "dir":
        cosmos["dir"] = str(tmp_path / "nowhere")
    else:
        (directory / damage).unlink()
    with pytest.raises(ConfigError, match=message) as err:
        check_cosmos_dir(cosmos)
    assert "galsim_download_cosmos -s 25.2" in str(err.value)
