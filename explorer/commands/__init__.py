"""Implementations of the CLI's sub-commands: argument checks, progress bars, printing."""
