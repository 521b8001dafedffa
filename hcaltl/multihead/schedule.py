"""The soft-pretraining weight C over training, and the learning-rate decay that goes with it (paper C).

Explained in chapter 6 (``notebooks/06_multihead_cause.ipynb``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CSchedule:
    """The weight C of the head losses over training.

    The kinds: ``"step"`` (the authors), C = c0 · factor^k with k the number of decay epochs start,
    start + every, … reached; ``"linear"``, from c0 to 0 at the last epoch; ``"off"``, C = 0 (no soft pretraining).
    The learning rate follows ``lr_factor``: × factor at the same decay epochs (the authors), for every kind.
    """

    kind: Literal["step", "linear", "off"] = "step"
    c0: float = 0.7
    factor: float = 0.8
    every: int = 100
    start: int = 20
    epochs: int = 801

    def __post_init__(self) -> None:
        if self.kind not in ("step", "linear", "off"):
            raise ValueError(f"schedule kind must be 'step', 'linear' or 'off', got {self.kind!r}")
        if not 0 <= self.c0 <= 1 or not 0 < self.factor <= 1 or self.every < 1 or self.epochs < 1:
            raise ValueError(f"invalid schedule {self}")

    @classmethod
    def authors(cls, epochs: int = 801, kind: str = "step") -> CSchedule:
        """The authors' schedule (decay every 100 epochs from epoch 20, over 801 epochs) compressed to ``epochs``."""
        every = max(1, round(epochs * 100 / 801))
        return cls(kind=kind, every=every, start=max(0, round(epochs * 20 / 801)), epochs=epochs)

    def decays(self, epoch: int) -> int:
        return 0 if epoch < self.start else (epoch - self.start) // self.every + 1

    def __call__(self, epoch: int) -> float:
        if self.kind == "off":
            return 0.0
        if self.kind == "linear":
            return self.c0 * max(0.0, 1 - epoch / max(1, self.epochs - 1))
        return self.c0 * self.factor ** self.decays(epoch)

    def lr_factor(self, epoch: int) -> float:
        return self.factor ** self.decays(epoch)
