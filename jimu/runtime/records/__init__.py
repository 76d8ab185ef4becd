"""The record service: typed CRUD, child tables, auto numbers, formulas, audit."""

from jimu.runtime.records.codec import record_to_json
from jimu.runtime.records.service import ListResult, RecordService, WriteEvent

__all__ = ["ListResult", "RecordService", "WriteEvent", "record_to_json"]
