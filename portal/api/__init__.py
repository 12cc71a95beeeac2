"""The JSON API the core banking system calls (``/api/v1``), signed the Standard Webhooks way.

``views`` is thin: it checks the signature, refuses replays, makes the call idempotent
(``calls``), then hands the body to one use case in ``portal.integrations.core_banking``.
``openapi.json`` (beside this file) documents every route, header and answer; it is
served at ``/api/v1/openapi.json``. ``errors`` answers JSON for every failure under
``/api/`` — refusals, unknown routes, rate limits, bad input, even a crash — never HTML.
"""
