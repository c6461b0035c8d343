"""The adversarial half of the ``vae-gan`` family: a patch discriminator and its schedule.

A VAE-GAN here is the β-VAE (:mod:`explorer.model.conv_vae`) whose decoder is also trained
to fool a discriminator that judges overlapping patches of a frame as real or
reconstructed (pix2pix's PatchGAN, Isola et al. 2017), so reconstructions are pushed away
from the blur that a squared error alone settles for. What keeps it stable on a few
hundred frames, following VQGAN (Esser et al. 2021):

- the adversarial term is off for the first :data:`ADVERSARIAL_START` of training, so the
  autoencoder first learns to reconstruct, then ramps up over :data:`ADVERSARIAL_RAMP`;
- its weight is adaptive: the ratio of the gradient norms of the reconstruction and the
  adversarial losses at the decoder's last layer, so neither swamps the other whatever
  the scale of the sum of squared errors;
- the discriminator learns with the hinge loss and Adam at β₁ = 0.5.

Only the autoencoder is saved: the discriminator is a training aid, and a saved VAE-GAN
opens, encodes and decodes exactly as a β-VAE does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ADVERSARIAL_START = 0.5
"""The share of training steps before the adversarial term turns on."""
ADVERSARIAL_RAMP = 0.1
"""The share of training steps over which its weight then rises to full."""
ADVERSARIAL_SHARE = 0.1
"""The adversarial gradient's size at full weight, as a share of the reconstruction's."""
MAX_ADAPTIVE_WEIGHT = 1e4
CRITIC_RATE = 2e-4


class PatchDiscriminator(nn.Module):
    """Three stride-2 convolutions and a 1-channel one: one real/fake logit for each
    overlapping patch (22 px across at the last layer), as a [N, 1, S/8, S/8] map."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for scale in (1, 2, 4):
            layers += [nn.Conv2d(previous, width * scale, 4, stride=2, padding=1),
                       nn.LeakyReLU(0.2)]
            previous = width * scale
        self.layers = nn.Sequential(*layers, nn.Conv2d(previous, 1, 3, padding=1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images * 2.0 - 1.0)


class Adversary:
    """The discriminator, its optimiser and the schedule of the adversarial term."""

    def __init__(self, total_steps: int, device: torch.device) -> None:
        self.critic = PatchDiscriminator().to(device)
        self.optimizer = torch.optim.Adam(self.critic.parameters(), lr=CRITIC_RATE,
                                          betas=(0.5, 0.9))
        self.start = round(ADVERSARIAL_START * total_steps)
        self.ramp = max(1, round(ADVERSARIAL_RAMP * total_steps))

    def ramp_factor(self, step: int) -> float:
        """0 before the adversarial term starts, rising linearly to 1 over the ramp."""
        return min(1.0, max(0.0, (step - self.start) / self.ramp))

    def generator_loss(
        self, reconstruction_loss: torch.Tensor, reconstruction: torch.Tensor,
        last_layer: torch.Tensor, step: int,
    ) -> torch.Tensor:
        """The adversarial term to add to the autoencoder's loss at ``step`` (0 before the
        start), weighted adaptively at ``last_layer`` (the decoder's last weight)."""
        factor = self.ramp_factor(step)
        if factor == 0.0:
            return torch.zeros((), device=reconstruction.device)
        fooled = -self.critic(reconstruction).mean()
        reconstruction_grad, = torch.autograd.grad(reconstruction_loss, last_layer,
                                                   retain_graph=True)
        fooled_grad, = torch.autograd.grad(fooled, last_layer, retain_graph=True)
        weight = reconstruction_grad.norm() / (fooled_grad.norm() + 1e-4)
        weight = weight.clamp(0.0, MAX_ADAPTIVE_WEIGHT).detach()
        return factor * ADVERSARIAL_SHARE * weight * fooled

    def critic_step(self, real: torch.Tensor, fake: torch.Tensor, step: int) -> None:
        """One hinge-loss step of the discriminator on a batch and its reconstructions;
        nothing before the adversarial term starts."""
        if step < self.start:
            return
        loss = F.relu(1.0 - self.critic(real)).mean() + F.relu(1.0 + self.critic(fake)).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
