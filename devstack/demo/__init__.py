"""Demo data for `make up`, written through the services' public HTTP APIs (never by importing a service)."""
