import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer.model.beta_vae import BetaVAEConfig
from explorer.model.contract import VideoVAE
from tests.factories import make_vae, random_frames


def test_meets_the_contract_with_documented_shapes():
    vae = make_vae()
    assert isinstance(vae, VideoVAE)
    assert vae.frame_size == (64, 64) and vae.latent_shape == (8,) and vae.device == "cpu"
    mu, logvar = vae.encode(random_frames(5, 64, 64))
    assert mu.shape == logvar.shape == (5, 8)
    assert mu.dtype == logvar.dtype == np.float32
    decoded = vae.decode(mu)
    assert decoded.shape == (5, 64, 64, 3) and decoded.dtype == np.uint8


def test_frames_of_another_size_are_fitted_to_the_model_input():
    vae = make_vae()
    frames = random_frames(3, 48, 100)
    mu_crop, _ = vae.encode(frames)
    vae.fit_mode = "letterbox"
    mu_letterbox, _ = vae.encode(frames)
    assert mu_crop.shape == (3, 8)
    assert not np.allclose(mu_crop, mu_letterbox), "fit mode must change what the model sees"


def test_batch_size_does_not_change_results():
    frames = random_frames(7, 64, 64)
    small = make_vae(batch_size=3)
    large = make_vae(batch_size=32)
    np.testing.assert_allclose(small.encode(frames)[0], large.encode(frames)[0], atol=1e-5)
    z = np.random.default_rng(2).standard_normal((7, 8)).astype(np.float32)
    assert np.abs(small.decode(z).astype(int) - large.decode(z).astype(int)).max() <= 1


def test_empty_batches_give_empty_arrays():
    vae = make_vae()
    mu, logvar = vae.encode(np.zeros((0, 64, 64, 3), np.uint8))
    assert mu.shape == logvar.shape == (0, 8)
    assert vae.decode(np.zeros((0, 8), np.float32)).shape == (0, 64, 64, 3)


def test_wrong_inputs_raise_clear_errors():
    vae = make_vae()
    with pytest.raises(ExplorerError, match="uint8"):
        vae.encode(np.zeros((2, 64, 64, 3), np.float32))
    with pytest.raises(ExplorerError, match="expects"):
        vae.decode(np.zeros((2, 5), np.float32))


@pytest.mark.parametrize("size", [64, 128, 256])
def test_supported_sizes_round_trip(size):
    vae = make_vae(size=size, latent_dim=4)
    decoded = vae.decode(vae.encode(random_frames(2, size, size))[0])
    assert decoded.shape == (2, size, size, 3)


def test_unsupported_size_is_rejected():
    with pytest.raises(ValueError, match="64, 128, 256"):
        BetaVAEConfig(image_size=100)
