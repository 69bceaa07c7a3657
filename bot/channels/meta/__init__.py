"""Facebook Messenger, Instagram messaging and WhatsApp Cloud API as Rasa input channels.

- :mod:`.signature`: X-Hub-Signature-256 and the subscribe handshake;
- :mod:`.parse`: Meta's webhook payloads → ordered citizen messages;
- :mod:`.dedup`: each delivery handled once (Redis or the service database);
- :mod:`.outgoing`: the Graph API client (limits, splitting, buttons, retries, typed results);
- :mod:`.media`: citizens' pictures (type and size checks, the attachment sink);
- :mod:`.channels`: the ``InputChannel``/``OutputChannel`` classes Rasa loads;
- :mod:`.settings`: the environment variables. See docs/social-media.md.

Nothing here connects anywhere at import.
"""
