"""Rate limits of the accounts server, sliding windows counted per key: sign-up and sign-in attempts
per client address, failed sign-ins per e-mail. Past a limit every request of that key gets 429 (with
``Retry-After``) until the window frees; refused requests are not counted.

Kept in the server's memory (one process): a restart forgets the counts, which only ever loosens
a limit for one window.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    """At most ``limit`` events per key within ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Seconds to wait before the next event of ``key`` is heard (0: go ahead)."""
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if not seen:
                return 0
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if not seen:
                del self._seen[key]
                return 0
            wait = self.window - (now - seen[0]) if len(seen) >= self.limit else 0.0
        return int(wait) + 1 if wait else 0

    def hit(self, key: str) -> None:
        with self._lock:
            self._seen[key].append(self.clock())

    def clear(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)
