"""Transports: the only layer that does network I/O."""

from .base import (
    ConnectError,
    Headers,
    Request,
    RequestTimeoutError,
    Response,
    ResponseLostError,
    Transport,
    TransportError,
)
from .memory import MemoryTransport

__all__ = [
    "ConnectError",
    "Headers",
    "MemoryTransport",
    "Request",
    "RequestTimeoutError",
    "Response",
    "ResponseLostError",
    "Transport",
    "TransportError",
]
