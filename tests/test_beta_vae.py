"""The built-in β-VAE decodes through folded kernels: same function as its literal layers."""

import pytest
import torch

from explorer.model.beta_vae import BetaVAE, BetaVAEConfig, UpsampleConv, fold_upsampling


def literal_decode(model: BetaVAE, latents: torch.Tensor) -> torch.Tensor:
    """The decoder as its layers are written: upsample, convolve, activate."""
    x = model.from_latent(latents).view(-1, model.config.channels[-1], 4, 4)
    for layer in model.decoder:
        x = layer.literal(x) if isinstance(layer, UpsampleConv) else layer(x)
    return torch.sigmoid(x)


def test_a_folded_kernel_computes_upsampling_then_convolution():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(5, 7, 3, padding=1)
    images = torch.randn(2, 5, 6, 9)
    expected = conv(torch.nn.functional.interpolate(images, scale_factor=2, mode="nearest"))
    folded = torch.nn.functional.conv_transpose2d(
        images, fold_upsampling(conv.weight), conv.bias, stride=2, padding=1
    )
    torch.testing.assert_close(folded, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [64, 128])
def test_decode_matches_the_literal_layers_with_their_gradients(size):
    torch.manual_seed(1)
    model = BetaVAE(BetaVAEConfig(image_size=size, latent_dim=6))
    latents = torch.randn(3, 6, requires_grad=True)
    conv = model.decoder[1]
    fast = model.decode(latents)
    slow = literal_decode(model, latents)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    fast_grads = torch.autograd.grad(fast.square().sum(), [latents, conv.weight])
    slow_grads = torch.autograd.grad(slow.square().sum(), [latents, conv.weight])
    for fast_grad, slow_grad in zip(fast_grads, slow_grads, strict=True):
        torch.testing.assert_close(fast_grad, slow_grad, atol=1e-4, rtol=1e-4)


def test_inference_follows_weight_updates():
    """The folded kernels are cached for inference, never past a change of the weights."""
    torch.manual_seed(2)
    model = BetaVAE(BetaVAEConfig(latent_dim=4)).eval()
    latents = torch.randn(2, 4)
    with torch.inference_mode():
        before = model.decode(latents)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    literal_decode(model, torch.randn(2, 4)).mean().backward()
    optimiser.step()
    other = BetaVAE(BetaVAEConfig(latent_dim=4))
    with torch.inference_mode():
        after_step = model.decode(latents)
        assert not torch.allclose(after_step, before, atol=1e-4)
        torch.testing.assert_close(after_step, literal_decode(model, latents))
        model.load_state_dict(other.state_dict())
        torch.testing.assert_close(model.decode(latents), literal_decode(other, latents))
    with torch.no_grad():  # a kernel folded in inference mode serves outside it too
        torch.testing.assert_close(model.decode(latents), literal_decode(other, latents))


def test_the_cache_is_dropped_on_a_mode_switch_or_a_move():
    """Updates that leave no trace in the version counter (``.data``, fused optimisers)
    happen in training mode; going back to eval mode folds again."""
    torch.manual_seed(3)
    model = BetaVAE(BetaVAEConfig(latent_dim=4)).eval()
    latents = torch.randn(2, 4)
    with torch.no_grad():
        model.decode(latents)
        model.train()
        for parameter in model.parameters():
            parameter.data.mul_(1.5)
        model.eval()
        torch.testing.assert_close(model.decode(latents), literal_decode(model, latents))
        model.double()
        torch.testing.assert_close(
            model.decode(latents.double()), literal_decode(model, latents.double())
        )


def test_a_model_built_in_inference_mode_decodes():
    with torch.inference_mode():
        model = BetaVAE(BetaVAEConfig(latent_dim=4)).eval()
        latents = torch.randn(2, 4)
        torch.testing.assert_close(model.decode(latents), literal_decode(model, latents))
