"""sentry_members_async: an asyncio SDK for Sentry's member, team and SCIM APIs."""

from ._version import __version__
from .client import SentryClient
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SentryError,
    ServerError,
    ValidationError,
)
from .transports.aiohttp import AiohttpTransport
from .transports.base import (
    ConnectError,
    Headers,
    Request,
    RequestTimeoutError,
    Response,
    ResponseLostError,
    Transport,
    TransportError,
)
from .transports.memory import MemoryTransport

__all__ = [
    "APIError",
    "AiohttpTransport",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "Headers",
    "MemoryTransport",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "Request",
    "RequestTimeoutError",
    "Response",
    "ResponseLostError",
    "SentryClient",
    "SentryError",
    "ServerError",
    "Transport",
    "TransportError",
    "ValidationError",
    "__version__",
]
