"""Rasa SDK custom actions: thin adapters between Rasa and the domain logic in `bot/`."""
