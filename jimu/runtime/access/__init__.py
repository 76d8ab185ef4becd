"""The one enforcement layer of permissions (DESIGN section 8).

Every reader and writer of records on behalf of a caller (API, screens, exports, audit,
OpenAPI, SSE, webhooks) asks an :class:`AccessPolicy` what the caller may see and do."""

from jimu.runtime.access.policy import AccessPolicy

__all__ = ["AccessPolicy"]
