"""Work ahead of its consumer: a generator run in a thread of its own, its items taken as they come.

A sales task stages its outlets one by one (extract, transform, ledger) and loads them into a target that
answers a request at a time. Done one after the other, the target waits while the task stages and the task
waits while the target answers. ``Ahead`` runs the staging in a thread so the first outlets load while the next
are staged; the consumer takes, each time it is ready, everything staged since (``waves``).

The staging is Python and pandas, the loading mostly waiting on the network, so the two share the interpreter
well. A failure on either side stops the other: the producer's is raised to the consumer after the items it
produced before it, and a consumer that stops early (its load failed) tells the producer to stop after the item
in hand and waits for it, so nothing is left half-written behind the task.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class Ahead(Generic[T]):
    """Run ``produce(stopping)`` in a thread; ``stopping()`` tells it to stop after the item in hand."""

    def __init__(self, produce: Callable[[Callable[[], bool]], Iterator[T]], *, name: str = "ahead") -> None:
        self._produce = produce
        self._items: queue.Queue[object] = queue.Queue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            for item in self._produce(self._stop.is_set):
                self._items.put(item)
                if self._stop.is_set():
                    break
        except BaseException as error:  # handed to the consumer, raised there
            self._error = error
        finally:
            self._items.put(_DONE)

    def waves(self) -> Iterator[tuple[list[T], bool]]:
        """Everything produced since the last wave (at least one item, waiting for it), and whether it is the last
        wave. The producer's failure is raised after the items it produced before it."""
        self._thread.start()
        finished = False
        try:
            while not finished:
                wave: list[T] = []
                item = self._items.get()
                while True:
                    if item is _DONE:
                        finished = True
                        break
                    wave.append(item)  # type: ignore[arg-type]
                    try:
                        item = self._items.get_nowait()
                    except queue.Empty:
                        break
                if wave or finished:
                    yield wave, finished
        finally:
            self._stop.set()
            self._thread.join()
        if self._error is not None:
            raise self._error
