"""Report sections: each computes one analysis on Activity and adds its figures
and results to a :class:`rgdata.report.Report`."""
