"""Rule script of every rule: runs the stage named as the rule (declared in blendphot)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1]))  # noqa: F821

from blendphot.stages import run_from_snakemake  # noqa: E402

run_from_snakemake(snakemake)  # noqa: F821
