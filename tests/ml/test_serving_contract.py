"""The serving path's import contract (pyproject.toml) names every serving module: a new module
beside ml/inference.py that is left off the list could import training or TensorFlow unseen."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def test_every_module_of_the_serving_path_is_under_its_import_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(
        c for c in config["tool"]["importlinter"]["contracts"] if c["name"].startswith("The serving path")
    )
    serving = {f"ml.{path.stem}" for path in (ROOT / "ml").glob("*.py") if path.stem != "__init__"}
    assert serving - set(contract["source_modules"]) == set()
    assert {"ml.training", "ml.research", "tensorflow"} <= set(contract["forbidden_modules"])
