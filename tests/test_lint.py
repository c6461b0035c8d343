import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


def test_code_is_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the [test] extra)")
    result = subprocess.run(
        [ruff, "check", "explorer", "tests"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


QT_CONTRACT = "The core never imports Qt"
TORCH_CONTRACT = "Only explorer.model imports torch"
WINDOW_CONTRACT = "The core never imports the window"


def run_import_linter(root: Path) -> subprocess.CompletedProcess:
    """The layer contracts of pyproject.toml, checked on the ``explorer`` package in ``root``."""
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.skip("import-linter is not installed (it comes with the [test] extra)")
    return subprocess.run(
        [lint_imports, "--config", str(PROJECT_ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)},
    )


def test_layers_are_kept():
    result = run_import_linter(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("latent/qt_leak.py", "from PySide6 import QtCore\n", QT_CONTRACT),
        ("session/plot_leak.py", "import pyqtgraph\n", QT_CONTRACT),
        ("video/torch_leak.py", "import torch\n", TORCH_CONTRACT),
        ("ui/torch_leak.py", "def late():\n    import torch\n", TORCH_CONTRACT),
        ("state/qt_leak.py", "from PySide6.QtCore import QObject\n", QT_CONTRACT),
        ("state/window_leak.py", "from explorer.ui import worker\n", WINDOW_CONTRACT),
    ],
)
def test_layer_contracts_catch_a_leak(tmp_path, module, source, contract):
    """A copy of the package with one forbidden import breaks exactly that contract."""
    shutil.copytree(PROJECT_ROOT / "explorer", tmp_path / "explorer",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "explorer" / module).write_text(source)
    result = run_import_linter(tmp_path)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
    assert module.replace("/", ".").removesuffix(".py") in result.stdout
