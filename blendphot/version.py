"""Which blendphot made a file: its version and the git commit of its code.

Versions come from git tags (setuptools_scm, pyproject.toml's ``[tool.setuptools_scm]``): a
build of tag ``v0.2.0`` is 0.2.0; a build of a commit after it, 0.2.1.devN+g<hash> (N commits
on); a source tree without git metadata, :data:`FALLBACK_VERSION`. setuptools_scm records the
version and the commit when the package is built or installed (``blendphot/_version.py``, not
tracked). :func:`software_version` gives both, and every output that names what made it records
them (the stamps, blend sets and predictions files' ``version`` and ``commit`` attributes, the
training summaries, the run's effective config).
"""

from __future__ import annotations

import functools
import json
import subprocess
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

FALLBACK_VERSION = "0.2.0.dev0"
"""The version of a source tree that git does not describe and that was never built (as
pyproject.toml's ``fallback_version``)."""
UNKNOWN = "unknown"
"""The commit where neither git nor an install recorded one."""
PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent
"""Where the code runs from: the repository root in a checkout, site-packages in an install."""


@functools.cache
def software_version() -> dict[str, str]:
    """``{"version", "commit"}`` of the code that runs.

    ``version``: what setuptools_scm recorded when this code was built or installed, else the
    installed distribution's when it is this code, else :data:`FALLBACK_VERSION`.
    ``commit``: ``git rev-parse HEAD`` when the code runs from the top of a git checkout, with
    ``-dirty`` when a tracked file is modified (an editable install is such a checkout); else
    the commit setuptools_scm recorded at the build; else :data:`UNKNOWN`. Read once per
    process.
    """
    recorded = _recorded()
    version = recorded.get("version") or _installed_version() or FALLBACK_VERSION
    commit = _git_commit(SOURCE_ROOT) or recorded.get("commit") or UNKNOWN
    return {"version": version, "commit": commit}


def _recorded() -> dict[str, str]:
    """The version and commit that setuptools_scm wrote into ``blendphot/_version.py``
    (its ``g<hash>`` as a plain short hash); empty when the file is absent."""
    import importlib

    try:  # through sys.modules, not the package's attribute
        _version = importlib.import_module("blendphot._version")
    except ImportError:
        return {}
    commit = getattr(_version, "commit_id", None) or ""
    return {"version": str(_version.version), "commit": commit.removeprefix("g")}


def _installed_version() -> str | None:
    """The installed distribution's version, when that distribution is this code (not, say,
    an editable install of another checkout while this one runs from ``PYTHONPATH``)."""
    try:
        dist = metadata.distribution("blendphot")
    except metadata.PackageNotFoundError:
        return None
    here = PACKAGE_DIR / "__init__.py"
    try:
        if Path(dist.locate_file("blendphot/__init__.py")).resolve() == here:
            return dist.version
        url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    except (OSError, ValueError):
        return None
    if url.startswith("file:") and Path(unquote(urlparse(url).path)).resolve() == SOURCE_ROOT:
        return dist.version  # an editable install of this checkout
    return None


def _git(root: Path, *args: str) -> str | None:
    """A git command's output in ``root``; None when git is missing or fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _git_commit(root: Path) -> str | None:
    """HEAD of the git checkout whose top is ``root`` (``-dirty`` if a tracked file differs
    from it); None when ``root`` is not the top of a checkout (code installed in a folder
    that happens to lie in another repository is not that repository's)."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != root.resolve():
        return None
    head = _git(root, "rev-parse", "HEAD")
    if not head:
        return None
    changes = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"{head}-dirty" if changes else head


def version_lines(prefix: str = "# ") -> str:
    """The version and commit as two comment lines (``# blendphot version: ...``, ``# blendphot
    commit: ...``), for a text output that has no attributes (the effective config)."""
    found = software_version()
    return "".join(f"{prefix}blendphot {key}: {found[key]}\n" for key in ("version", "commit"))
