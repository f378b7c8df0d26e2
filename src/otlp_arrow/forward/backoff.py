"""How long to wait before retrying (pure)."""

from __future__ import annotations

import random


def delay(
    attempt: int,
    initial: float,
    maximum: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait before retry number ``attempt`` (0-based): ``initial * 2**attempt`` capped at
    ``maximum``, with "equal jitter" (between half and all of it), so that many senders do not
    retry in step. A server's ``Retry-After`` / ``RetryInfo`` wins when it asks for longer
    (also beyond ``maximum``: the server knows best)."""
    rng = rng or random.Random()
    ceiling = min(maximum, initial * 2 ** min(attempt, 60))
    wait: float = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None and retry_after > wait:
        return retry_after
    return wait
