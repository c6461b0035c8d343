"""What a model says of itself (``describe()``), as rows a person reads: one wording for
``explorer info`` and the window's Model panel. Plain Python: no torch, no Qt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Row = tuple[str, str]


def fact_rows(facts: Mapping[str, Any]) -> list[Row]:
    """(label, value) for the kind, sizes, parameters, log-variance, codebook, precision, the
    PCA baseline and note, each where the model says it."""
    height, width = facts["frame_size"]
    rows: list[Row] = [
        ("Kind", str(facts["kind"])),
        ("Frame size", f"{width} × {height}"),
        ("Latent shape", " × ".join(map(str, facts["latent_shape"]))),
    ]
    if "parameters" in facts:
        rows.append(("Parameters", f"{facts['parameters']:,}"))
    if facts.get("deterministic"):
        rows.append(("Log-variance", "none: a plain autoencoder"))
    if facts.get("codebook_size"):
        rows.append(("Codebook", codebook_text(facts)))
    if "precision" in facts:
        rows.append(("Precision", str(facts["precision"])))
    training = facts.get("training")
    if isinstance(training, Mapping) and _number(training.get("pca_psnr_db")):
        rows.append(("PCA baseline", baseline_text(training)))
    if facts.get("note"):  # a sentence, such as why a video autoencoder is slow here
        rows.append(("Note", str(facts["note"])))
    return rows


def codebook_text(facts: Mapping[str, Any]) -> str:
    """A VQ model's codebook: its size, how many entries a video uses once counted
    (``codes_used``), and whether decoding goes through the quantiser."""
    entries = f"{facts['codebook_size']:,} entries"
    if facts.get("codes_used") is not None:
        entries += f", this video uses {facts['codes_used']:,}"
    through = "through" if facts.get("quantize", True) else "without"
    return f"{entries}; decoded {through} the quantiser"


def baseline_text(training: Mapping[str, Any]) -> str:
    """A trained model's held-out PSNR against PCA's with as many components, fitted on the
    same frames (``explorer train`` measures both)."""
    pca = training["pca_psnr_db"]
    components = training.get("pca_components")
    scored = "held-out" if holds_frames_out(training) else "on the training frames"
    text = f"PCA-{components if _number(components) else '?'} {pca:.1f} dB {scored}"
    model = training.get("holdout_psnr_db")
    return f"{text}; this model {model - pca:+.1f} dB" if _number(model) else text


def holds_frames_out(training: Mapping[str, Any]) -> bool:
    """Whether training scored its model on held-out frames: a clip too short to hold
    any out is scored on its training frames (``holdout_frames`` = ``frames``)."""
    frames = training.get("frames")
    return not (_number(frames) and training.get("holdout_frames") == frames)


def _number(value: Any) -> bool:
    """A finite number, as a file written by anyone may hold anything."""
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e9
