"""The indicators' rules, pure Python: what items count as, the figures, the KPIs, the history."""
