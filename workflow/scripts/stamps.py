"""Rule script: the 'stamps' stage, or 'stamps_candels' for the candels-blender source."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1]))  # noqa: F821

from blendphot.stages import run_from_snakemake  # noqa: E402
from blendphot.stamps import stamps_stage_name  # noqa: E402

run_from_snakemake(snakemake, stamps_stage_name(snakemake.config))  # noqa: F821
