"""Data loading and normalization."""

from harness.data.formats import FORMATS, detect_format
from harness.data.loaders import iter_records, load_records
from harness.data.record import Record, Turn

__all__ = ["FORMATS", "Record", "Turn", "detect_format", "iter_records", "load_records"]
