"""HTTP routes of the indicators service (`kpis`: the KPI API and its settings) and the recompute
command line (`cli`): parse, authorise, call a handler, answer."""

from services.indicators.api.kpis import IndicatorsApi, router

__all__ = ["IndicatorsApi", "router"]
