"""HTTP routes of the followups service, one module per area (all share the dependencies in `deps`), the
readers of import bodies, and the server-rendered pages behind interactive links (`pages/`)."""
