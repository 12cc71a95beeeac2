"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Worker count and binding come from the environment as gunicorn reads them
(``GUNICORN_CMD_ARGS``, ``WEB_CONCURRENCY``); what is fixed here is what must not be
forgotten: the access log goes to stdout with plan-link and unsubscribe tokens redacted.
"""

from portal.access_log import RedactingGunicornLogger

logger_class = RedactingGunicornLogger
accesslog = "-"
