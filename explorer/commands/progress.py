"""Progress bars for the CLI."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


class ProgressBar:
    """A tqdm bar that appears with the first progress, so an error that comes before any
    work (a file that does not decode) stays a single line on stderr."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self.bar: tqdm | None = None

    def update_to(self, done: int, total: int | None = None) -> None:
        if self.bar is None:
            self.bar = tqdm(**self._options)
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    @property
    def done(self) -> int:
        return 0 if self.bar is None else self.bar.n

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
