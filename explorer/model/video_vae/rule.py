"""Which frames each latent step of a video autoencoder covers (torch-free).

A causal video autoencoder (Wan, CogVideoX, LTX-Video, HunyuanVideo, Mochi, Cosmos) gives
the first frame a step of its own and every later step ``stride`` frames: a clip of
``1 + k·stride`` frames makes ``1 + k`` steps, and decoding ``S`` steps gives
``1 + (S − 1)·stride`` frames. A clip of another length is padded at its end by repeating
its last frame up to the next such length; the padded frames are not reported as covered.
Without a causal first frame every step covers ``stride`` frames (``stride`` 1: one step a
frame, as for the per-frame encoder of SVD's temporal-decoder VAE).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTEXT_STEPS = 1
"""Steps decoded before a step to give it the frames it stands for: one is enough for a
causal model's step to decode to all its frames (alone it would be a video's first step,
one frame); more come closer to decoding the whole video, and cost as much again each."""


@dataclass(frozen=True)
class Window:
    """One piece of a long video to encode: frames ``start:stop``; of the latent steps
    that gives, the first ``skip`` are context to drop, and the rest are the video's steps
    ``first_step`` onwards."""

    start: int
    stop: int
    skip: int
    first_step: int


@dataclass(frozen=True)
class FrameRule:
    """How many frames each latent step stands for."""

    stride: int
    """Frames per step (per step after the first when ``causal_first``)."""
    causal_first: bool
    """The first step covers the first frame alone."""

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"a latent step covers at least one frame, not {self.stride}")

    def steps_for(self, frames: int) -> int:
        """The latent steps a clip of ``frames`` frames makes (after padding)."""
        if frames <= 0:
            return 0
        if self.causal_first:
            return 1 + -(-(frames - 1) // self.stride)
        return -(-frames // self.stride)

    def frames_for(self, steps: int) -> int:
        """The frames decoding ``steps`` steps yields."""
        if steps <= 0:
            return 0
        return 1 + (steps - 1) * self.stride if self.causal_first else steps * self.stride

    def padded(self, frames: int) -> int:
        """The length a clip of ``frames`` frames is padded to before it is encoded."""
        return self.frames_for(self.steps_for(frames))

    def step_frames(self, frames: int) -> np.ndarray:
        """``[steps, 2]``: the first and last real frame each step covers, in a clip of
        ``frames`` frames starting at frame 0 (the last step stops at the clip's end)."""
        steps = np.arange(self.steps_for(frames), dtype=np.int64)
        if self.causal_first:
            last = steps * self.stride
            first = np.where(steps == 0, 0, last - self.stride + 1)
        else:
            first = steps * self.stride
            last = first + self.stride - 1
        return np.stack([first, np.minimum(last, frames - 1)], axis=1)

    def describe(self) -> str:
        """The rule in one sentence, for ``describe()`` and the window."""
        if self.stride == 1:
            return "one latent step per frame"
        if self.causal_first:
            return (f"1 + {self.stride}k frames: the first step covers the first frame, each "
                    f"later step {self.stride} frames; a clip of another length is padded by "
                    "repeating its last frame")
        return (f"{self.stride}k frames: each step covers {self.stride} frames; a clip of "
                "another length is padded by repeating its last frame")

    def windows(self, frames: int, steps: int, context: int = 0) -> list[Window]:
        """Cut a video of ``frames`` frames into windows of ``steps`` latent steps each.

        Every window but the first also encodes ``context`` steps before its own. With a
        causal first frame it starts on the last frame of the step before those, which
        becomes its own single-frame step (dropped), so that its later steps cover the same
        frames as the whole video's; otherwise it starts where its first context step does.
        Together the windows' kept steps are the video's steps, each once. A window that
        reaches the video's end is padded there, as the whole video would be.
        """
        _check_windowing(steps, context)
        return [self.window(begin, steps, context, frames)
                for begin in range(0, self.steps_for(frames), steps)]

    def window(self, first_step: int, steps: int, context: int, frames: int) -> Window:
        """The window of :meth:`windows` whose kept steps start at step ``first_step``, in
        a video of at least ``frames`` frames: a window that ends before frame ``frames``
        is the same whatever follows, so it can be planned before the video's end is known."""
        end = min(self.steps_for(frames), first_step + steps)
        anchor = self.window_anchor(first_step, context)
        return Window(anchor * self.stride, min(frames, self.frames_for(end)),
                      skip=first_step - anchor, first_step=first_step)

    def window_anchor(self, first_step: int, context: int) -> int:
        """The step a window starts on (its first frame is this step's last), counting the
        ``context`` steps and, for a causal rule, the lone step before them."""
        return max(0, first_step - context - (1 if self.causal_first else 0))


class WindowPlanner:
    """:meth:`FrameRule.windows` for a stream of frames whose length is not known in
    advance (containers misreport it; a live source has none): a window is planned as
    soon as its last frame has arrived, and the last one when the stream ends. The windows
    are those :meth:`FrameRule.windows` gives for the length the stream turns out to have.
    """

    def __init__(self, rule: FrameRule, steps: int, context: int) -> None:
        _check_windowing(steps, context)
        self.rule, self.steps, self.context = rule, steps, context
        self.next_step = 0
        """The first step of the next window."""

    @property
    def needed_from(self) -> int:
        """The first frame (counted from the stream's start) a later window still needs:
        earlier ones may be let go."""
        return self.rule.window_anchor(self.next_step, self.context) * self.rule.stride

    def next_window(self, frames: int, finished: bool = False) -> Window | None:
        """The next window once ``frames`` frames have arrived, or None while it needs more
        (or, ``finished``, when the stream's steps are all planned)."""
        complete = frames >= self.rule.frames_for(self.next_step + self.steps)
        if not complete and not (finished and self.rule.steps_for(frames) > self.next_step):
            return None
        window = self.rule.window(self.next_step, self.steps, self.context, frames)
        self.next_step += self.steps
        return window


def _check_windowing(steps: int, context: int) -> None:
    if steps < 1 or context < 0:
        raise ValueError(f"need at least one step a window and no negative context, "
                         f"not {steps} and {context}")
