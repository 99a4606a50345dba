"""Assembling analyses into a report folder (figures + index.html + netCDF)."""

from ._report import Report, recover_report_folder
from .build import SECTIONS, available_sections, build_report, write_index

__all__ = [
    "Report",
    "recover_report_folder",
    "SECTIONS",
    "available_sections",
    "build_report",
    "write_index",
]
