"""The ``encore`` umbrella command: ``encore ticket ...`` and ``encore demo``."""
