"""The delivery loop: hands due outbox emails to the mail server every few seconds, in a
background thread, while `frontdesk serve` (or the demo) runs. `frontdesk.services` builds it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("frontdesk.mail")

OUTBOX_INTERVAL_SECONDS = 10.0


class OutboxLoop:
    """Runs `deliver_round` every `interval` seconds until stopped. A failed round is logged
    (type and one line) and tried again next round."""

    def __init__(
        self, deliver_round: Callable[[], object], *, interval: float = OUTBOX_INTERVAL_SECONDS
    ) -> None:
        self._deliver_round = deliver_round
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.round_done = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._deliver_round()  # it logs what it did
            except Exception as exc:  # logged; the next round tries again
                log.warning("outbox delivery round failed: %s: %s", type(exc).__name__, exc)
            self.rounds += 1
            self.round_done.set()
            self._stop.wait(self.interval)
