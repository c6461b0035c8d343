"""Latent Explorer: look inside video autoencoders."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("latent-explorer")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
