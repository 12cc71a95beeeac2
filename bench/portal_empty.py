"""The portal with one route more, ``/bench/empty``, which returns a short string and does
nothing else: its throughput beside bare Flask's is what the per-request shell costs
(hooks, rate limiter, session, headers, the database session). bench/pages.py serves it
(``--empty``) as ``portal_empty:app`` with ``--chdir bench``; it is never the portal's app.
"""

from portal import create_app

EMPTY = "/bench/empty"

app = create_app()
app.add_url_rule(EMPTY, "bench_empty", lambda: "Hello, World!")
