"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Worker count and binding come from the environment as gunicorn reads them
(``GUNICORN_CMD_ARGS``, ``WEB_CONCURRENCY``); what is fixed here is what must not be
forgotten: the access log goes to stdout with plan-link and unsubscribe tokens redacted,
and each worker warms the agreement renderer (fonts, stylesheet, templates, signing key)
before it takes requests, so the first cardholder to accept a plan after a restart does
not wait seconds for them; it builds the answers index too (portal.answers), so the first
question does not wait for the guides to be read and the Chinese segmenter to load.
"""

from typing import Any

from portal.access_log import RedactingGunicornLogger

logger_class = RedactingGunicornLogger
accesslog = "-"


def post_worker_init(worker: Any) -> None:
    """After the worker loaded the app, before it accepts connections."""
    from flask import Flask

    from portal.agreements.warm import warm_up
    from portal.answers.ask import warm_up as warm_answers

    if isinstance(worker.wsgi, Flask):  # wsgi:app; another entry point warms nothing
        worker.log.info("agreement renderer warmed in %.2f s", warm_up(worker.wsgi))
        worker.log.info("answers index built in %.2f s", warm_answers())
