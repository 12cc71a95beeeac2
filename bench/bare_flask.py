"""The yardstick of bench/pages.py: a one-route Flask app, served the same way as the portal.

gunicorn imports it as ``bare_flask:app`` (with ``--chdir bench``).
"""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
