"""The trust policy (docs/security.md): data opens freely, code runs only when trusted.

Each attack leaves proof if it works: a marker file the hostile code would create or
overwrite. The tests check the marker is untouched, and, where it matters, that the same
file with trust given really does run (so the marker would have caught it).
"""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from torch import nn

from explorer.errors import ModelFileError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.model.files import FORMAT, load_model, save_model
from explorer.model.identity import model_identity
from explorer.model.kinds import (
    DIFFUSERS,
    PLUGIN,
    SAFETENSORS,
    TORCHSCRIPT,
    UntrustedCodeError,
    model_kind,
)
from explorer.model.open import open_model
from explorer.paths import demo_model_path, demo_video_path
from explorer.session.document import Session, save_session
from tests.conftest import PROJECT_ROOT
from tests.factories import make_vae
from tests.test_cli import assert_one_line_error

MARKER_TEXT = b"safe"


class OverwritesMarker(nn.Module):
    """A TorchScript model whose encode overwrites the file ``marker`` (``AAAA``)."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.frame_size = [8, 8]
        self.marker = marker

    @torch.jit.export
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        written = torch.from_file(self.marker, True, 4, dtype=torch.uint8)
        written.fill_(65)
        return images.mean(dim=(2, 3)) + written[0].float() * 0

    @torch.jit.export
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return latents[:, :, None, None].expand(-1, 3, 8, 8)


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "marker"
    path.write_bytes(MARKER_TEXT)
    return path


@pytest.fixture
def hostile_torchscript(tmp_path, marker) -> Path:
    path = tmp_path / "hostile.pt"
    torch.jit.save(torch.jit.script(OverwritesMarker(str(marker))), str(path))
    return path


def run_explorer(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )


# A model file explorer train writes is never taken for a pickle


def test_safetensors_whose_header_length_starts_with_0x80_opens(tmp_path):
    """About 1 model in 32 has a header length ≡ 128 (mod 256): its first byte is 0x80,
    the pickle protocol opcode. Vary the metadata length until one is found (safetensors
    pads its header to a multiple of 8 bytes)."""
    vae = make_vae()
    for padding in range(0, 264, 8):
        path = save_model(vae, tmp_path / "model.safetensors", {"source_video": "v" * padding})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no metadata length gave a header starting with 0x80")
    assert model_kind(path) is SAFETENSORS
    assert load_model(path).latent_shape == vae.latent_shape
    assert open_model(path, "cpu").metadata["training"]["source_video"] == "v" * padding


# Models that are code run only when trusted


def test_torchscript_runs_only_when_trusted(hostile_torchscript, marker):
    assert model_kind(hostile_torchscript) is TORCHSCRIPT
    with pytest.raises(UntrustedCodeError, match="--trust-code"):
        open_model(hostile_torchscript, "cpu")
    assert marker.read_bytes() == MARKER_TEXT
    open_model(hostile_torchscript, "cpu", trust_code=True)
    assert marker.read_bytes() == b"AAAA"  # the marker catches code that runs


def test_info_describes_torchscript_without_running_it(hostile_torchscript, marker):
    result = run_explorer("info", hostile_torchscript)
    assert result.returncode == 0, result.stderr
    assert "TorchScript model (code: not run)" in result.stdout
    assert "--trust-code" in result.stdout
    assert marker.read_bytes() == MARKER_TEXT


def test_encode_refuses_untrusted_torchscript(hostile_torchscript, marker, tmp_path):
    result = run_explorer(
        "encode", demo_video_path(), "--model", hostile_torchscript, "-o", tmp_path / "t.npz"
    )
    assert_one_line_error(result, "TorchScript model, which runs code", "--trust-code")
    assert marker.read_bytes() == MARKER_TEXT
    assert not (tmp_path / "t.npz").exists()


def test_torchscript_renamed_safetensors_is_refused(hostile_torchscript, marker, tmp_path):
    renamed = tmp_path / "innocent.safetensors"
    renamed.write_bytes(hostile_torchscript.read_bytes())
    with pytest.raises(ModelFileError, match=r"never loads pickles"):
        open_model(renamed, "cpu", trust_code=True)
    with pytest.raises(ModelFileError, match=r"never loads pickles"):
        load_model(renamed)
    result = run_explorer("info", renamed)
    assert_one_line_error(result, str(renamed))
    assert marker.read_bytes() == MARKER_TEXT


PLUGIN_SOURCE = """
from pathlib import Path
Path({marker!r}).write_bytes(b"ran!")  # importing the module is enough

def factory():
    raise RuntimeError("never reached in these tests")
"""


@pytest.fixture
def plugin_in_folder(tmp_path, marker) -> tuple[Path, str]:
    """A folder holding a plugin module that overwrites the marker when imported."""
    name = f"hostile_{secrets.token_hex(4)}"
    (tmp_path / f"{name}.py").write_text(PLUGIN_SOURCE.format(marker=str(marker)))
    return tmp_path, f"{name}:factory"


def test_plugin_spec_runs_only_when_trusted(plugin_in_folder, marker, monkeypatch):
    folder, spec = plugin_in_folder
    monkeypatch.chdir(folder)
    assert model_kind(spec) is PLUGIN
    with pytest.raises(UntrustedCodeError, match="Python plugin"):
        open_model(spec, "cpu")
    assert marker.read_bytes() == MARKER_TEXT


def session_naming(model: str, path: Path) -> Path:
    mu = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    trajectory = Trajectory(mu, mu * 0, np.arange(6), np.arange(6) / 24.0, meta={})
    session = Session(
        video_path=str(demo_video_path()), video_fingerprint=file_fingerprint(demo_video_path()),
        model_path=model,
        model_sha256="", trajectory=trajectory,
    )
    return save_session(session, path)


def test_session_naming_a_plugin_runs_nothing(plugin_in_folder, marker):
    folder, spec = plugin_in_folder
    session = session_naming(spec, folder / "hostile.lxsession")
    result = run_explorer("--session", session, "--screenshot", folder / "shot.png", cwd=folder)
    assert_one_line_error(result, spec, "--trust-code")
    assert marker.read_bytes() == MARKER_TEXT
    assert not (folder / "shot.png").exists()


def test_window_asks_before_running_a_code_model(
    qtbot, plugin_in_folder, hostile_torchscript, marker, monkeypatch
):
    """Sessions, recent files, drops and dialogs all pass the same gate; declining leaves
    the window as it was, and nothing of the model runs."""
    from tests.gui_helpers import ready_window

    folder, spec = plugin_in_folder
    monkeypatch.chdir(folder)
    asked: list[str] = []

    def decline(_parent, named: str, label: str) -> bool:
        asked.append(f"{Path(named).name} ({label})")
        return False

    monkeypatch.setattr("explorer.ui.trust.confirm_code", decline)
    window = ready_window(qtbot)
    window.interactive = True
    window.open_dropped(hostile_torchscript)
    assert asked == ["hostile.pt (TorchScript model)"]
    session = session_naming(spec, folder / "hostile.lxsession")
    assert not window.sessions.open(session)
    assert asked[1:] == [f"{spec} (Python plugin)"]
    assert window.sessions.path is None and window.sessions.pending is None
    assert window.model == demo_model_path() and window.state.trajectory is not None
    qtbot.wait(200)
    assert marker.read_bytes() == MARKER_TEXT


def test_gate_trusts_what_the_command_line_named(qtbot, hostile_torchscript):
    from explorer.ui.trust import CodeGate

    asked = []
    gate = CodeGate([hostile_torchscript])
    assert gate.permits(hostile_torchscript, None, ask=False)
    assert gate.permits(demo_model_path(), None, ask=False)  # data: never asked
    other = hostile_torchscript.with_name("other.pt")
    other.write_bytes(hostile_torchscript.read_bytes())
    assert not gate.permits(other, None, ask=False)
    assert asked == []


# The file kind comes from the name, and the content must agree


def test_mpeg_ts_recordings_are_videos_not_models(tmp_path):
    from explorer.video.writer import ClipWriter

    clip = tmp_path / "recording.ts"
    with ClipWriter(tmp_path / "recording.mp4", fps=12) as writer:
        for value in range(6):
            writer.write(np.full((32, 32, 3), value * 40, np.uint8))
    import av

    with av.open(str(tmp_path / "recording.mp4")) as source, av.open(str(clip), "w") as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    with pytest.raises(ModelFileError, match="not a model this app can open"):
        model_kind(clip)
    result = run_explorer("info", clip)
    assert result.returncode == 0, result.stderr
    assert "Codec" in result.stdout and "6 decoded" in result.stdout


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "model.ckpt", "model.bin"])
def test_pickles_are_refused_under_every_name(tmp_path, name, marker):
    from tests.test_model_files import RunsCode

    path = tmp_path / name
    torch.save({"weights": RunsCode(marker.with_name("ran"))}, path)
    with pytest.raises(ModelFileError, match="never loads pickles"):
        open_model(path, "cpu", trust_code=True)
    assert not marker.with_name("ran").exists()


def test_folders_are_diffusers_data(tmp_path):
    assert model_kind(tmp_path) is DIFFUSERS


# Declared sizes are checked before anything is allocated


def foreign_model(path: Path, architecture: dict, tensors: dict | None = None) -> Path:
    metadata = {"format": FORMAT, "format_version": "1", "architecture": json.dumps(architecture)}
    save_file(tensors or {"w": torch.zeros(2)}, str(path), metadata=metadata)
    return path


@pytest.mark.parametrize(
    ("architecture", "fragment"),
    [
        ({"kind": "beta_vae", "image_size": 64, "latent_dim": 8, "base_channels": 10**6,
          "max_channels": 10**6}, "architecture.base_channels"),
        ({"kind": "beta_vae", "image_size": 64, "latent_dim": "8", "base_channels": 8,
          "max_channels": 8}, "architecture.latent_dim"),
        ({"kind": "beta_vae", "image_size": 65, "latent_dim": 8, "base_channels": 8,
          "max_channels": 8}, "architecture.image_size"),
        ({"kind": "beta_vae", "image_size": 64, "latent_dim": 8, "base_channels": 8,
          "max_channels": 8, "extra": 1}, "architecture.extra: unknown field"),
        ({"kind": "beta_vae", "image_size": 256, "latent_dim": 4096, "base_channels": 1024,
          "max_channels": 4096}, "does not hold the tensors"),
    ],
)
def test_model_metadata_is_validated_before_building(tmp_path, architecture, fragment):
    path = foreign_model(tmp_path / "m.safetensors", architecture)
    with pytest.raises(ModelFileError, match=fragment) as caught:
        load_model(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"frame_size": 10**9}, "frame_size.0"),
        ({"frame_size": [64, 64, 64]}, "frame_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"latent_shape": [10**9]}, "latent_shape.0"),
        ({"input_range": [0, "1"]}, "input_range.1"),
        ({"half_precision": "yes"}, "half_precision"),
    ],
)
def test_torchscript_settings_are_validated_before_loading(
    hostile_torchscript, marker, settings, fragment
):
    hostile_torchscript.with_suffix(".json").write_text(json.dumps(settings))
    with pytest.raises(ModelFileError, match=fragment):
        open_model(hostile_torchscript, "cpu", trust_code=True)
    assert marker.read_bytes() == MARKER_TEXT  # refused before torch.jit.load


def test_huge_diffusers_config_is_refused_without_allocating(tmp_path):
    from tests.test_byo_models import autoencoder_kl

    folder = autoencoder_kl(tmp_path / "vae")
    config = json.loads((folder / "config.json").read_text())
    config["block_out_channels"] = [4096] * len(config["block_out_channels"])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="more than its weights"):
        open_model(folder, "cpu")


def test_torchscript_settings_change_the_model_identity(hostile_torchscript):
    before = model_identity(hostile_torchscript)
    hostile_torchscript.with_suffix(".json").write_text('{"frame_size": 16}')
    assert model_identity(hostile_torchscript) != before


# Fuzz: any metadata or settings document opens or gives one line, never anything else

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
ARCHITECTURE = {"kind": "beta_vae", "image_size": 64, "latent_dim": 8, "base_channels": 8,
                "max_channels": 16}
fuzz_settings = settings(max_examples=40, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_one_line(action) -> None:
    try:
        action()
    except ModelFileError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)


@fuzz_settings
@given(field=st.sampled_from(sorted(ARCHITECTURE)), value=json_values)
def test_fuzzed_architecture_opens_or_gives_one_line(tmp_path, field, value):
    architecture = {**ARCHITECTURE, field: value}
    path = foreign_model(tmp_path / "fuzz.safetensors", architecture)
    assert_one_line(lambda: load_model(path))


@fuzz_settings
@given(document=json_values | st.dictionaries(
    st.sampled_from(["frame_size", "latent_shape", "input_range", "half_precision",
                     "batch_size"]), json_values, max_size=3))
def test_fuzzed_torchscript_settings_open_or_give_one_line(hostile_torchscript, document):
    hostile_torchscript.with_suffix(".json").write_text(json.dumps(document))
    from explorer.model.open import TorchScriptSettings, read_settings

    assert_one_line(
        lambda: read_settings(hostile_torchscript.with_suffix(".json"), TorchScriptSettings)
    )


EXITING_PLUGIN = """
import sys

def factory():
    sys.exit(0)
"""


def test_a_trusted_plugin_that_exits_is_one_line_not_the_end(tmp_path, monkeypatch):
    """sys.exit() in a plugin must not end `explorer encode` silently with exit 0."""
    name = f"exiting_{secrets.token_hex(4)}"
    (tmp_path / f"{name}.py").write_text(EXITING_PLUGIN)
    result = run_explorer("encode", demo_video_path(), "--model", f"{name}:factory",
                          "--trust-code", "-o", tmp_path / "t.npz", cwd=tmp_path)
    assert_one_line_error(result, f"plugin {name}:factory raised SystemExit")
    assert not (tmp_path / "t.npz").exists()


def test_models_asking_for_absurd_frames_are_refused(tmp_path, marker):
    """Every frame is fitted to the model's size: a model of 10⁶ pixels a side would make
    each frame terabytes, so such a size is refused when the model opens."""
    from tests.test_byo_models import autoencoder_kl

    folder = autoencoder_kl(tmp_path / "vae", sample_size=10**6)
    with pytest.raises(ModelFileError, match="larger than any video"):
        open_model(folder, "cpu")
    module = OverwritesMarker(str(marker))
    module.frame_size = [10**6, 10**6]
    scripted = tmp_path / "huge.pt"
    torch.jit.save(torch.jit.script(module), str(scripted))
    with pytest.raises(ModelFileError, match="larger than any video"):
        open_model(scripted, "cpu", trust_code=True)
    assert marker.read_bytes() == MARKER_TEXT  # refused before its encode ran
