import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from blendphot.errors import InputError
from blendphot.sky import CATALOG_COLUMNS, draw_galaxy_catalog, read_catalog, read_mosaic


def test_catalog_contract_and_types(tiny_config):
    cat = draw_galaxy_catalog(tiny_config["sky"], seed=3)
    primaries = cat[cat["primary"]]
    assert len(primaries) == tiny_config["sky"]["n_galaxies"]
    assert set(primaries["type"]) <= {"sph", "disk", "sphd", "irr"}
    assert cat["id"].is_unique
    lo, hi = tiny_config["sky"]["mag_range"]
    assert primaries["mag"].between(lo, hi).all()
    assert (cat.loc[~cat["primary"], "mag"] > 23.5).all()
    expected_flux = 10 ** (-0.4 * (cat["mag"] - 25.96))
    np.testing.assert_allclose(cat["flux"], expected_flux)


def test_same_seed_same_catalog(tiny_config):
    a = draw_galaxy_catalog(tiny_config["sky"], seed=3)
    b = draw_galaxy_catalog(tiny_config["sky"], seed=3)
    c = draw_galaxy_catalog(tiny_config["sky"], seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["mag"].equals(c["mag"])


def test_mosaic_has_wcs_zeropoint_and_flux(tiny_data):
    image, header = read_mosaic(tiny_data["mosaic"])
    assert header["MAGZERO"] == 25.96
    assert header["NOISE"] == tiny_data["config"]["sky"]["noise_sigma"]
    wcs = WCS(header)
    assert wcs.has_celestial
    cat = read_catalog(tiny_data["catalog"])
    assert list(cat.columns) == list(CATALOG_COLUMNS)
    # positions agree with the WCS
    x, y = wcs.all_world2pix(cat["ra"], cat["dec"], 0)
    np.testing.assert_allclose(x, cat["x"], atol=1e-6)
    # the drawn light is the catalogue's flux (minus what falls off the mosaic)
    assert image.sum() == pytest.approx(cat["flux"].sum(), rel=0.05)
    # noise level in an empty corner
    assert np.std(image[:15, :15]) == pytest.approx(header["NOISE"], rel=0.3)


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
    with pytest.raises(InputError, match="duplicate id 1"):
        read_catalog(_write(tmp_path, df))


def test_read_catalog_nan_magnitude(tmp_path):
    df = _good_catalog()
    df.loc[0, "mag"] = np.nan
    with pytest.raises(InputError, match="NaN"):
        read_catalog(_write(tmp_path, df))


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
