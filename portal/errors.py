"""Translated error pages. Nothing a person does should ever end in a bare 500."""

from __future__ import annotations

from flask import Flask, Response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal import unit_of_work
from portal.api import errors as api_errors
from portal.inputs import ControlCharacterError


def _messages(code: int) -> tuple[str, str]:
    if code == 404:
        return _("Page not found"), _("We could not find that page. It may have moved, or the link may be incomplete.")
    if code == 403:
        return _("Not available to you"), _(
            "Your role does not give access to this page. If you need it, ask your supervisor."
        )
    if code == 429:
        return _("Please wait a little"), _(
            "There were too many tries in a short time. Please wait a few minutes, then try again."
        )
    if code == 413:
        return _("That file is too large"), _("Please choose a smaller file and try again.")
    if code == 405:
        return _("That did not work"), _("This page cannot be used that way. Please go back and try again.")
    if code >= 500:
        return _("Something went wrong on our side"), _(
            "This is not your fault. Please try again in a few minutes. Nothing was changed."
        )
    return _("That did not work"), _("Something in the request was not right. Please go back and try again.")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        title = _("This form has expired")
        text = _("For your safety, forms expire. Please go back, reload the page and try again.")
        return render_template("errors/error.html", title=title, text=text, code=400), 400

    @app.errorhandler(ControlCharacterError)
    def control_character(error: ControlCharacterError) -> tuple[str, int] | Response:
        if api_errors.is_api_request():
            return api_errors.control_characters()
        title = _("That did not work")
        text = _(
            "What was sent holds characters we cannot read, such as invisible control characters. "
            "Please type it again and try once more."
        )
        return render_template("errors/error.html", title=title, text=text, code=400), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | Response:
        if api_errors.is_api_request():  # the core system's API answers JSON, never a page
            return api_errors.http_error(error)
        code = error.code or 500
        title, text = _messages(code)
        return render_template("errors/error.html", title=title, text=text, code=code), code

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int] | Response:
        unit_of_work.rollback()  # before rendering: the page must not read half-written state
        app.logger.exception("unhandled error")
        if api_errors.is_api_request():
            return api_errors.internal_error()
        title, text = _messages(500)
        return render_template("errors/error.html", title=title, text=text, code=500), 500
