"""Builds shared by the site tests: the repository's own site, and a toy site with hostile input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOY = REPO / "tests" / "kb" / "fixtures" / "toy"


def mkdocs_build(project: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=project, capture_output=True, text=True, env=env)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The repository's site, built once with `mkdocs build --strict`."""
    site = tmp_path_factory.mktemp("site")
    res = mkdocs_build(REPO, site)
    assert res.returncode == 0, res.stderr[-3000:]
    return site


def make_project(tmp: Path, kb: Path = TOY) -> Path:
    """A project that has the repository's mkdocs.yml, docs and hooks, but another knowledge base."""
    from benchmarks.synthetic import copy_site_sources  # one list of what a site build needs

    project = tmp / "project"
    project.mkdir()
    copy_site_sources(project)
    shutil.copytree(kb / "kb", project / "kb")
    return project
