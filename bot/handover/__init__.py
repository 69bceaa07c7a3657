"""Handover to the contact centre: the queue, agent accounts, and the agent console.

The Rasa side (slots, rules, the action that opens a handover, forwarding the citizen's
messages) calls :mod:`bot.handover.service`; the web service mounts the console with
:func:`bot.handover.console.setup_console`.
"""
