"""Error classes shared by the platform; each builds its own message."""


class ConfigError(Exception):
    """The service cannot start with this configuration; the message is one line naming the cause."""


class PermanentError(Exception):
    """A message can never be handled as it is: retrying is pointless, it goes to the dead letters."""


class TransientError(Exception):
    """A message could not be handled now but may be later (a dependency was briefly away)."""


class RedeliveryNeeded(Exception):
    """The message was not handled and must not be acknowledged: it is to be read again."""
