"""A gunicorn worker warms the agreement renderer before it serves (issue 15).

Each check runs in a fresh interpreter: this test process has long since loaded fonts,
stylesheet and key for other tests, so only a new one shows what the warm-up loads.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

# Loads gunicorn.conf.py as gunicorn does (a Python file of settings), runs its
# post_worker_init hook for a worker whose app is wsgi:app's kind (a Flask app), and
# reports what the process then holds. The database URL points nowhere: warming must
# not touch the database.
SCRIPT = """
import json, logging, runpy, sys
sys.path.insert(0, {root!r})
records = []
logging.getLogger().addHandler(type("H", (logging.Handler,), {{"emit": lambda self, r: records.append(r)}})())
from tests.conftest import make_app
app = make_app("sqlite:////nonexistent/dir/portal.sqlite3")
from portal.agreements import render, signing
from portal.answers import index as answers_index

class Log:
    def info(self, message, *args):
        records.append(logging.makeLogRecord({{"msg": message, "args": args, "levelno": logging.INFO}}))

class Worker:
    wsgi = app
    log = Log()

before = {{"renderers": len(render._renderers), "keys": len(signing._cache), "sized": len(signing._reservations)}}
answers_before = answers_index._current.index is not None
settings = runpy.run_path({conf!r})
settings["post_worker_init"](Worker())
after = {{"renderers": len(render._renderers), "keys": len(signing._cache), "sized": len(signing._reservations)}}
templates = [name for name in ("agreements/document.html", "journey/_macros.html")
             if any(key[1] == name for key in app.jinja_env.cache)]
print(json.dumps({{
    "before": before, "after": after, "templates": templates,
    "errors": [r.getMessage() for r in records if r.levelno >= logging.WARNING],
    "messages": [r.getMessage() for r in records],
    "logger_class": settings["logger_class"].__name__, "accesslog": settings["accesslog"],
    "answers": [answers_before, answers_index._current.index is not None],
}}))
"""


def test_the_gunicorn_hook_loads_fonts_stylesheet_templates_and_key_without_the_database() -> None:
    script = SCRIPT.format(root=str(ROOT), conf=str(ROOT / "gunicorn.conf.py"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["before"] == {"renderers": 0, "keys": 0, "sized": 0}
    # Stylesheet + font configuration, the bank's key and signer, and the signature's
    # reserved size (measured by the warm-up's own signature) are all in place.
    assert report["after"] == {"renderers": 1, "keys": 1, "sized": 1}
    assert report["templates"] == ["agreements/document.html", "journey/_macros.html"]
    assert report["errors"] == []
    assert any(m.startswith("agreement renderer warmed in") for m in report["messages"])
    # The answers index is built too, so the first question does not wait for it.
    assert report["answers"] == [False, True]
    assert any(m.startswith("answers index built in") for m in report["messages"])
    # The access-log settings the file was written for are unchanged.
    assert (report["logger_class"], report["accesslog"]) == ("RedactingGunicornLogger", "-")
