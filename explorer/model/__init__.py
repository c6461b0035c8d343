"""Models: the VideoVAE contract, the built-in β-VAE and its training, and the loaders for
the models users bring (safetensors, diffusers folders, TorchScript, plugins).

This is the only package that imports torch. Everything that runs a model goes through
:mod:`explorer.model.guard`; what may be opened without trusting code is decided in
:mod:`explorer.model.open` (see ``docs/security.md``).
"""
