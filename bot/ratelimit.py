"""Sliding-window rate limits per key (user, channel), with an injectable clock."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable


class RateLimiter:
    """At most ``count`` events per ``seconds`` for each key."""

    SWEEP_AT = 1024  # keys held before idle ones are swept out: memory stays bounded

    def __init__(self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.count, self.seconds, self.clock = count, seconds, clock
        self._events: dict[Hashable, deque[float]] = {}

    def _prune(self, key: Hashable) -> int:
        """Forget events older than the window; returns how many remain."""
        events = self._events.get(key)
        if events is None:
            return 0
        cutoff = self.clock() - self.seconds
        while events and events[0] <= cutoff:
            events.popleft()
        if not events:
            del self._events[key]
        return len(events)

    def allowed(self, key: Hashable) -> bool:
        return self._prune(key) < self.count

    def hit(self, key: Hashable) -> None:
        self._prune(key)
        self._events.setdefault(key, deque()).append(self.clock())
        if len(self._events) > self.SWEEP_AT:
            for stale in list(self._events):
                self._prune(stale)

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may act again (0 when it may now)."""
        if self._prune(key) < self.count:
            return 0.0
        return max(0.0, self._events[key][0] + self.seconds - self.clock())
