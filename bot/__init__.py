"""Service side of the Swedish Police digital assistant."""
