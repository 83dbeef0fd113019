"""Paper venue: matching against L2 books, with queue position, fees, latency and faults."""

from deltahedge.venues.paper.faults import FaultConfig, FaultInjector
from deltahedge.venues.paper.venue import PaperVenue

__all__ = ["FaultConfig", "FaultInjector", "PaperVenue"]
