"""Latent trajectories, 2-D projections and interpolation (no Qt, no torch)."""
