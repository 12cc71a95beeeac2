import gc

from portal import create_app

app = create_app()
# What the app loaded (models, templates, locale data, policies) lives as long as the
# worker: kept out of every garbage collection, a full one no longer walks it all in the
# middle of some cardholder's request (a pause of tens of milliseconds). Refcounting still
# frees what is dropped. Before a fork (gunicorn --preload) it also spares the pages
# the workers share from being written by the collector.
gc.freeze()
