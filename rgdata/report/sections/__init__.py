"""Report sections and their registry.

Each section composes public library calls on an Activity (or, for the
simulation section ``ising``, on data it simulates) and writes figures,
results and captions into a :class:`rgdata.report.Report`. :data:`REGISTRY`
lists every section once, in report order, with where its function lives;
every section is called through :meth:`Section.run`, which has one signature:
``run(report, activity, *, random_state, progress, **options)``.

Adding a section: write ``sections/<name>.py`` with its ``add_<name>_section``
function (and optionally a ``skip_reason(activity)``), then add one
:class:`Section` entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Section", "REGISTRY", "DATA_SECTIONS"]


@dataclass(frozen=True)
class Section:
    """One report section: where its function lives and what it runs on.

    Attributes
    ----------
    name : str
        Registry key, used in ``sections=`` and ``options=`` of
        :func:`rgdata.report.build_report`.
    module : str
        Module under ``rgdata.report.sections`` holding the function.
    function : str
        Name of ``add_<name>_section(report, activity, *, random_state,
        progress, **options)`` (without ``activity`` when
        ``uses_activity`` is False).
    skip : str or None
        Name of the module's ``skip_reason(activity) -> str | None``; None
        when the section applies to every Activity.
    uses_activity : bool
        False for a section that makes its own data (the Ising simulation);
        :meth:`run` then ignores *activity*.
    """

    name: str
    module: str
    function: str
    skip: str | None = None
    uses_activity: bool = True

    def load(self) -> Callable[..., dict[str, Any]] | None:
        """The section function, or None when its module is not installed."""
        full = f"{__name__}.{self.module}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as err:
            if err.name == full:  # the section is not part of this installation
                return None
            raise
        return getattr(module, self.function)

    def skip_reason(self, activity: Any) -> str | None:
        """Why the section does not apply to *activity* (None when it applies)."""
        if self.skip is None:
            return None
        module = importlib.import_module(f"{__name__}.{self.module}")
        return getattr(module, self.skip)(activity)

    def run(
        self,
        report: Any,
        activity: Any,
        *,
        random_state: Any = 0,
        progress: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Add the section to *report*; returns its headline numbers."""
        func = self.load()
        if func is None:
            raise ModuleNotFoundError(f"report section {self.name!r} is not installed")
        if self.uses_activity:
            return func(report, activity, random_state=random_state, progress=progress, **options)
        return func(report, random_state=random_state, progress=progress, **options)


#: every section, in report order
REGISTRY: dict[str, Section] = {
    s.name: s
    for s in (
        Section("overview", "overview", "add_overview_section"),
        Section("scaling", "scaling", "add_scaling_section"),
        Section("collapse", "collapse", "add_collapse_section"),
        Section("momentum", "momentum", "add_momentum_section"),
        Section("maxent", "maxent", "add_maxent_section", skip="skip_reason"),
        Section("flow", "flow", "add_flow_section"),
        Section("hierarchical", "hierarchical", "add_hierarchical_section"),
        Section("multiscale", "multiscale", "add_multiscale_section"),
        Section("learned", "learned", "add_learned_section", skip="skip_reason"),
        Section("ising", "ising", "add_ising_section", uses_activity=False),
        Section("generative", "generative", "add_generative_section", uses_activity=False),
        Section("multilevel", "multilevel", "add_multilevel_section", uses_activity=False),
        Section(
            "tensor_networks", "tensor_networks", "add_tensor_networks_section", uses_activity=False
        ),
    )
}

#: sections that analyse a given Activity (what :func:`rgdata.report.build_report` runs)
DATA_SECTIONS = tuple(name for name, s in REGISTRY.items() if s.uses_activity)
