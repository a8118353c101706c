"""Follow-ups: clients, items, statuses, the change-status wizard, specific and follow-up actions."""
