"""Data loading and normalization."""

from harness.data.formats import FORMATS, detect_format
from harness.data.loaders import iter_records, load_records
from harness.data.opening import open_records
from harness.data.record import Record, Turn
from harness.data.record_file import RecordFile

__all__ = ["FORMATS", "Record", "RecordFile", "Turn", "detect_format", "iter_records", "load_records",
           "open_records"]
