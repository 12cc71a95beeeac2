"""The scheduler: the portal's timed jobs, run by ``flask --app wsgi portal scheduler``."""
