"""The HTTP API (Starlette): the routes of DESIGN section 9, problem+json errors."""

from jimu.runtime.api.app import create_app

__all__ = ["create_app"]
