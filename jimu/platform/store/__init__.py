"""The metadata store: system tables, app specs with revisions, publishing."""

from jimu.platform.store.metadata import AppInfo, MetadataStore, PublishResult

__all__ = ["AppInfo", "MetadataStore", "PublishResult"]
