"""Assembling analyses into a report folder (figures + index.html + netCDF)."""

from ._report import Report

__all__ = ["Report"]
