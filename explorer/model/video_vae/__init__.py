"""Video autoencoders whose latent steps each stand for several frames.

- :mod:`.rule`: which frames each latent step covers, and how to cut a long video into
  encoding windows. Plain numpy, so the pipeline, state and timeline may import it.
- :mod:`.families`: what differs between the diffusers video autoencoder classes.
- :mod:`.temporal_vae`: :class:`~.temporal_vae.TemporalVAE`, numpy clips in and out.

:func:`explorer.model.diffusers_video.load_diffusers_video_vae` opens one from a folder.
This package's ``__init__`` imports nothing, so importing :mod:`.rule` loads no torch.
"""
