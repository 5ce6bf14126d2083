"""The one item the crawler emits: a capture, and (after recording) what it produced."""

from dataclasses import dataclass

from monitor.record import Capture, Prepared, Recorded


@dataclass
class CaptureItem:
    """A fetch attempt on its way through the pipelines."""

    capture: Capture
    prepared: Prepared | None = None  # what the spider already worked out about the body
    recorded: Recorded | None = None
    dropped: str | None = None  # why a pipeline could not record it (e.g. the disk is full)
