import subprocess
import sys

import pytest

from blendphot.cli import main
from blendphot.stages import all_stages

from .conftest import TINY

STAGES = all_stages()


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_stage_has_help(stage, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([stage, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--config" in out
    for name in STAGES[stage].outputs:
        assert f"--out-{name.replace('_', '-')}" in out


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "blendphot", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "blend_sets" in result.stdout and "sep_baseline" in result.stdout


def test_sky_stage_from_the_command_line(tmp_path):
    code = main(
        ["synthetic_sky", "--config", str(TINY), "--out-mosaic", str(tmp_path / "m.fits"),
         "--out-catalog", str(tmp_path / "c.fits"), "--log", str(tmp_path / "sky.log")]
    )  # fmt: skip
    assert code == 0
    assert (tmp_path / "m.fits").stat().st_size > 0
    assert "synthetic sky" in (tmp_path / "sky.log").read_text()


def test_bad_input_exits_2_with_one_message(tmp_path, capsys):
    outs = [(f"--out-{s}", str(tmp_path / f"{s}.h5")) for s in ("train", "val", "test")]
    argv = ["blend_sets", "--config", str(TINY), "--stamps", str(tmp_path / "missing.h5")]
    code = main(argv + [a for pair in outs for a in pair])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.h5" in err and "does not exist" in err
    assert not (tmp_path / "train.h5").exists()


def test_bad_config_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("seed: 7", "seed: 7\nsedd: 3"))
    code = main(
        ["synthetic_sky", "--config", str(bad), "--out-mosaic", str(tmp_path / "m.fits"),
         "--out-catalog", str(tmp_path / "c.fits")]
    )  # fmt: skip
    assert code == 2
    assert "unknown config key 'sedd'" in capsys.readouterr().err
