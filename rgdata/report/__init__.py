"""Assembling analyses into a report folder (figures + index.html + netCDF)."""

from ._report import Report
from .build import SECTIONS, available_sections, build_report, write_index

__all__ = ["Report", "SECTIONS", "available_sections", "build_report", "write_index"]
