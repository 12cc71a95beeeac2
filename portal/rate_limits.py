"""Flask-Limiter, without its bookkeeping on requests that no limit can apply to.

Flask-Limiter works on every request: a ``before_request`` hook resolves the default,
application and blueprint limits, the wrapper of each decorated view resolves the
view's own, an ``after_request`` hook adds the rate-limit headers and a teardown clears
what the request noted, even when the answer is "no limit here". The portal declares no
default, application or meta limits, and most of its limits name the methods they count
(``methods=["POST"]``): a GET of the sign-in form or of a guide resolved a dozen objects
to count nothing. :class:`PortalLimiter` asks first, from the limits declared, whether
any could count this request, and lets Flask-Limiter do its whole work only then; the
header and teardown hooks run only on a request for which it noted something. Which
limits exist, what they count and the headers they add are unchanged.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask.globals import _cv_request
from flask_limiter import Limiter

_NOTED = "_limiter_request_context"  # where Flask-Limiter keeps a request's limits (Limiter.context)


class PortalLimiter(Limiter):
    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # Flask-Limiter's header hook is bound to its class, not looked up on the instance:
        # put a guard in front of it, in its place (it must still run after the view's hooks).
        hooks = app.after_request_funcs.setdefault(None, [])
        for index, hook in enumerate(hooks):
            if getattr(hook, "func", None) is Limiter._Limiter__inject_headers:  # type: ignore[attr-defined]
                hooks[index] = _only_when_noted(hook)

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if self._may_apply(callable_name, in_middleware):
            super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _may_apply(self, callable_name: str | None, in_middleware: bool) -> bool:
        """False only when no declared limit can count this request; True when unsure."""
        manager = self.limit_manager
        if manager._application_limits or manager._default_limits or self._meta_limits:
            return True  # limits on every request: Flask-Limiter decides
        request = _cv_request.get().request
        endpoint = request.endpoint
        if not endpoint or not (self.enabled and self.initialized):
            return False  # Flask-Limiter exempts these too
        if manager.has_hints(endpoint):
            return True
        if manager._blueprint_limits and any(name in manager._blueprint_limits for name in request.blueprints):
            return True  # limits declared on the request's blueprint (or a parent)
        if in_middleware:
            return False  # the hook's share is default, application and blueprint limits
        # The view's own share: its decorated limits, if any of them counts this method.
        method = request.method.lower()
        groups: Any = manager._decorated_limits.get(callable_name or "", ())
        return any(group.methods is None or method in group.methods for group in groups)

    def _Limiter__release_context(self, error: BaseException | None = None) -> None:  # noqa: N802 - overrides the name-mangled teardown
        if hasattr(_cv_request.get(), _NOTED):
            super()._Limiter__release_context(error)  # type: ignore[misc]


def _only_when_noted(hook: Any) -> Any:
    def inject_headers(response: Response) -> Response:
        if not hasattr(_cv_request.get(), _NOTED):
            return response  # no limit counted this request: no header, no deduction
        result: Response = hook(response)
        return result

    return inject_headers
