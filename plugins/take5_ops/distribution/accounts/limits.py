"""The sign-in rate limit: failed attempts counted per e-mail and per client address in a sliding
window; past the limit every attempt (even a right password) gets 429 until the window frees.

Kept in the server's memory (one process): a restart forgets the counts, which only ever loosens
the limit for one window.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class SignInLimiter:
    """``failures`` failed sign-ins per e-mail (3 × per address) within ``window`` seconds."""

    def __init__(self, failures: int = 10, window: float = 900.0, clock=time.monotonic):
        self.failures, self.window, self.clock = failures, window, clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, email: str, address: str) -> tuple[tuple[str, int], ...]:
        return ((f"email:{email}", self.failures), (f"addr:{address}", 3 * self.failures))

    def retry_after(self, email: str, address: str) -> int:
        """Seconds to wait before the next attempt is heard (0: go ahead)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(email, address):
                seen = self._seen.get(key)
                if not seen:
                    continue
                while seen and now - seen[0] > self.window:
                    seen.popleft()
                if len(seen) >= limit:
                    wait = max(wait, self.window - (now - seen[0]))
        return int(wait) + 1 if wait else 0

    def failed(self, email: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _ in self._keys(email, address):
                self._seen[key].append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._seen.pop(f"email:{email}", None)
