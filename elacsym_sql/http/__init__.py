"""The original service's HTTP/JSON API (HTTP_API.md) over the engine API."""

from .app import DEFAULT_MAX_BODY_BYTES, create_app
from .server import DEFAULT_HTTP, BackgroundHttpServer, HttpServer, parse_address

__all__ = [
    "DEFAULT_HTTP",
    "DEFAULT_MAX_BODY_BYTES",
    "BackgroundHttpServer",
    "HttpServer",
    "create_app",
    "parse_address",
]
