"""HTTP routes of the followups service, one module per area; all share the dependencies in `deps`."""
