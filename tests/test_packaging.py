"""Desktop integration files, icons, the self-test and the version report."""

from __future__ import annotations

import configparser
import io
import re
import shlex
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import explorer
from explorer import paths
from explorer.selftest import run_self_test
from tests.conftest import PROJECT_ROOT

APP_ID = "io.github.latent_explorer.LatentExplorer"
PACKAGING = PROJECT_ROOT / "packaging"
DESKTOP_FILE = PACKAGING / f"{APP_ID}.desktop"
METAINFO_FILE = PACKAGING / f"{APP_ID}.metainfo.xml"
ICONS = PROJECT_ROOT / "resources" / "icons"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QUICK_STEPS = ("model", "video", "encode", "decode", "interpolate", "export", "qt")


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def pyproject_version() -> str:
    text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    assert match, "pyproject.toml has no version"
    return match.group(1)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, which always comes first."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE and header[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_desktop_entry_launches_explorer_with_the_app_icon():
    entry = desktop_entry()
    for key in ("Type", "Name", "Exec", "Icon", "Categories"):
        assert entry.get(key), f"{key} is missing"
    assert entry["Type"] == "Application"
    assert shlex.split(entry["Exec"])[0] == "explorer"
    assert entry["Icon"] == APP_ID
    assert "Science" in entry["Categories"].split(";")


def test_metainfo_describes_the_desktop_application():
    root = ET.parse(METAINFO_FILE).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == desktop_entry()["Name"]
    assert root.findtext("summary")
    assert root.find("description/p") is not None
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP_FILE.name
    assert root.find("content_rating").get("type", "").startswith("oars-")
    image = root.find("screenshots/screenshot/image")
    assert image is not None and image.text.startswith("https://")
    assert image.text.endswith("docs/screenshot.png")
    assert (PROJECT_ROOT / "docs" / "screenshot.png").is_file()


def test_newest_release_is_the_package_version():
    root = ET.parse(METAINFO_FILE).getroot()
    newest = root.find("releases/release")
    assert newest is not None
    assert newest.get("version") == pyproject_version() == explorer.__version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", newest.get("date", ""))


def test_icon_svg_and_every_png_size_exist():
    svg = ET.parse(ICONS / "latent-explorer.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("viewBox") == "0 0 256 256"
    for size in ICON_SIZES:
        assert png_size(ICONS / f"latent-explorer-{size}.png") == (size, size)


@pytest.mark.parametrize(
    ("tool", "arguments", "path"),
    [
        ("desktop-file-validate", (), DESKTOP_FILE),
        ("appstreamcli", ("validate", "--no-net"), METAINFO_FILE),
    ],
)
def test_files_pass_the_freedesktop_validators(tool, arguments, path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (desktop-file-utils / appstream)")
    result = subprocess.run([tool, *arguments, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_quick_self_test_passes(qapp):
    report = io.StringIO()
    assert run_self_test(report, quick=True), report.getvalue()
    lines = report.getvalue().splitlines()
    steps = [line for line in lines if line.startswith(("PASS", "FAIL", "SKIP"))]
    assert tuple(line.split()[1] for line in steps) == QUICK_STEPS
    assert all(line.startswith("PASS") for line in steps), steps
    assert lines[-1] == "self-test passed (7 steps)"


def test_self_test_reports_a_failing_step_in_one_line(qapp, monkeypatch, tmp_path):
    missing = tmp_path / "gone.safetensors"
    monkeypatch.setattr(paths, "demo_model_path", lambda: missing)
    monkeypatch.delenv("EXPLORER_DEBUG", raising=False)
    report = io.StringIO()
    assert not run_self_test(report, quick=True)
    output = report.getvalue()
    assert re.search(r"^FAIL model: .*gone\.safetensors", output, re.MULTILINE)
    assert "SKIP encode: needs model" in output
    assert "PASS video" in output and "PASS qt" in output
    assert "Traceback" not in output
    assert output.splitlines()[-1].startswith("self-test FAILED")


def test_self_test_shows_the_traceback_when_debugging(qapp, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "demo_model_path", lambda: tmp_path / "gone.safetensors")
    monkeypatch.setenv("EXPLORER_DEBUG", "1")
    report = io.StringIO()
    assert not run_self_test(report, quick=True)
    assert "Traceback" in report.getvalue()


def test_version_report_names_the_app_and_its_libraries():
    from explorer.ui.about_dialog import version_report

    report = version_report()
    assert f"Latent Explorer  {explorer.__version__}" in report
    for name in ("Python", "torch", "Qt", "pyqtgraph", "numpy", "PyAV", "Device"):
        assert re.search(rf"^{name}\s+\S", report, re.MULTILINE), name


def test_about_box_shows_version_and_icon(qapp):
    from explorer.ui.about_dialog import about_box, app_icon

    assert not app_icon().isNull()
    box = about_box()
    assert explorer.__version__ in box.text()
    assert not box.iconPixmap().isNull()
    box.deleteLater()
