"""Rendering the shared layouts cheaply: fragments cached per locale, templates kept warm.

Every page renders a header and a footer whose text changes only with the language, the
account's jurisdiction and the deployment's settings, yet cost a dozen Babel look-ups,
URL builds and jurisdiction reads per request. ``{% cache key, … %}…{% endcache %}``
renders such a fragment once per key in each worker and reuses the markup afterwards
(Jinja's documented fragment-cache extension, kept in process memory). The key must name
everything the fragment shows: the locale, the jurisdiction, a setting, which page it
marks as current. A key part that is none or undefined renders the fragment afresh and
keeps nothing, for fragments that can be cached only sometimes (a form before it was
submitted). Nothing personal and nothing per session belongs inside one, with one
exception that is never kept: the request's CSRF token. A fragment that shows it (a
signed-in reader's question box) is kept with the token cut out, and each request that
takes it puts its own token back in those places. Under the debug server, which reloads
edited templates, nothing is kept.

The language switcher, which names the current page, is built by :func:`language_links`
and, in the cardholder layout, rendered once per language and page address by
:func:`language_nav`; in production every template is compiled when the app is made,
not on a cardholder's first request to each worker.
"""

from __future__ import annotations

import os
import weakref
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

from flask import Flask, current_app, get_template_attribute, has_request_context, request
from flask.globals import _cv_request
from flask.templating import Environment as FlaskEnvironment
from flask_babel import force_locale
from jinja2 import Environment, Template, Undefined, nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.runtime import Context, new_context
from markupsafe import Markup

from portal.i18n import LOCALES
from portal.locales import locale_name, settled_locale_name
from portal.security import csrf_token, made_csrf_token

FRAGMENT_LIMIT = 512  # kept fragments per app; a deployment has a few dozen keys


class FragmentCache(Extension):
    """``{% cache "name", key… %}body{% endcache %}``: the body rendered once per key."""

    tags = {"cache"}  # noqa: RUF012 - jinja2.ext.Extension declares it a set

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # Each fragment as the text between the places where it showed the request's CSRF
        # token: one part for a fragment that shows none.
        self.fragments: dict[tuple[Any, ...], tuple[Markup | str, ...]] = {}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        key = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            key.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("_fragment", [nodes.List(key)])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _fragment(self, key: Sequence[Any], caller: Callable[[], Markup | str]) -> Markup | str:
        # auto_reload (the debug server): templates change while it runs, so keep nothing.
        if self.environment.auto_reload or any(part is None or isinstance(part, Undefined) for part in key):
            return caller()
        parts = self.fragments.get(tuple(key))
        if parts is None:
            shown = caller()
            token = made_csrf_token()
            parts = tuple(shown.split(token)) if token and token in shown else (shown,)
            if len(self.fragments) < FRAGMENT_LIMIT:
                self.fragments[tuple(key)] = parts
            return shown
        if len(parts) == 1:
            return parts[0]
        return Markup(csrf_token()).join(parts)  # noqa: S704 - the token is base64 and dots; the parts, the fragment's markup


class LanguageLink(NamedTuple):
    lang: str  # the BCP 47 tag: zh-Hans
    name: str
    href: str
    current: bool


def language_links() -> list[LanguageLink]:
    """The language switcher's links, each back to this page (``next``), built once."""
    current = locale_name()
    # What url_for('auth.set_language', code=…, next=…) writes, with the query encoded
    # once instead of per language: werkzeug encodes query arguments with these safe
    # characters (werkzeug.urls._urlencode).
    query = urlencode({"next": request.full_path.rstrip("?")}, safe="!$'()*,/:;?@")
    return [
        LanguageLink(lang, name, f"{path}?{query}", code == current)
        for code, lang, name, path in _switch_paths(current_app._get_current_object(), request.script_root)  # type: ignore[attr-defined]
    ]


@lru_cache(maxsize=64)
def _switch_paths(app: Flask, script_root: str) -> tuple[tuple[str, str, str, str], ...]:
    """Each language's code, BCP 47 tag, name and switch path: the same for every request
    under one script root, so built once rather than by three url_for calls a page."""
    urls = app.url_map.bind("localhost", script_name=script_root or "/")
    return tuple(
        (code, code.replace("_", "-"), name, urls.build("auth.set_language", {"code": code}))
        for code, name in LOCALES.items()
    )


NAV_KEPT = 1024  # rendered language switchers kept per worker (one per language and page address)


def language_nav(css_class: str) -> Markup:
    """The language switcher (the ``language_nav`` macro of macros/layout.html), rendered
    once per language, script root and page address and then reused: it shows nothing
    else. Kept in a bounded cache of its own (least recently used out), so that addresses
    without end (query strings) cannot crowd the layout fragments out of theirs."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.jinja_env.auto_reload:  # the debug server: templates change while it runs
        return _render_language_nav(css_class)
    return _kept_language_nav(app, css_class, locale_name(), request.script_root, request.full_path)


@lru_cache(maxsize=NAV_KEPT)
def _kept_language_nav(app: Flask, css_class: str, locale: str, script_root: str, full_path: str) -> Markup:
    return _render_language_nav(css_class)  # the arguments are the key: what the macro reads


def _render_language_nav(css_class: str) -> Markup:
    return Markup(get_template_attribute("macros/layout.html", "language_nav")(css_class))  # noqa: S704 - the macro's autoescaped output


URLS_KEPT = 2048  # links kept per worker: a page's fixed links, and one per offer or plan shown
# Values a link writes as exactly one text each, so that equal values of one type make one
# link: not a Decimal (1.0 and 1.00 are equal) or a float (0.0 and -0.0), not a list.
_PLAIN = frozenset({str, int, bool})


def url_for(endpoint: str, **values: Any) -> str:
    """Flask's ``url_for`` for templates, each link built once and kept (least recently
    used out): a page builds the same links on every render, some 9 µs each through the
    URL map, a handful a page and one per offer on the offers page. The key is all that
    Flask and werkzeug read to build a link inside a request: the app, the request's URL
    adapter (script root, host, subdomain, scheme, method), the endpoint and each value
    with its type (``all=1`` and ``all=True`` are written differently). A relative
    endpoint (``.page``), a ``_``-option (anchor, scheme, external), a value other than
    text, a whole number or a truth value (a Decimal, a list) or an app with
    ``url_defaults`` functions goes to Flask as before."""
    context = _cv_request.get(None)
    adapter = None if context is None else context.url_adapter
    if (
        adapter is None
        or endpoint[:1] == "."
        or context.app.url_default_functions  # type: ignore[union-attr]
        or any(name[:1] == "_" for name in values)
    ):
        return current_app.url_for(endpoint, **values)
    if any(type(value) not in _PLAIN for value in values.values()):
        return current_app.url_for(endpoint, **values)
    args = tuple((name, type(value), value) for name, value in values.items())
    return _kept_url(
        context.app,  # type: ignore[union-attr]
        adapter.script_name,
        adapter.server_name,
        adapter.subdomain,
        adapter.url_scheme,
        adapter.default_method,
        adapter.websocket,
        endpoint,
        args,
    )


@lru_cache(maxsize=URLS_KEPT)
def _kept_url(app: Flask, *key: Any) -> str:
    # Built by Flask in the request whose adapter the key describes: the arguments are the key.
    endpoint, args = key[-2:]
    return app.url_for(endpoint, **{name: value for name, _type, value in args})


class _Globals(ChainMap[str, Any]):
    """A template's globals (Jinja's ChainMap of its own and the environment's) whose
    ``keys()`` is a set. Each ``{% from "…" import … %}`` compares the importing
    template's globals with the imported one's (``Template._get_default_module``); a
    ChainMap's key view answered that one name at a time, through a generator, three
    dozen names per import on every page."""

    def keys(self) -> set[str]:  # type: ignore[override]
        return set().union(*self.maps)

    def flat(self) -> dict[str, Any]:
        """The same names and values as one plain dict (the first map's win, as here)."""
        merged: dict[str, Any] = {}
        for mapping in reversed(self.maps):
            merged.update(mapping)
        return merged


class _Template(Template):
    """Jinja's template, handing each new context its globals as one plain dict. Jinja
    copies them into every context it makes (each render, include and import) with
    ``dict(globals, **vars)``: from a ChainMap that is one Python ``__getitem__`` and a
    KeyError per name, some 45 names, 25-30 µs a render; from a dict, well under one.
    The context holds the same names and values either way."""

    def new_context(
        self, vars: dict[str, Any] | None = None, shared: bool = False, locals: Mapping[str, Any] | None = None
    ) -> Context:
        found = self.globals
        flat = found.flat() if type(found) is _Globals else found
        return new_context(self.environment, self.name, self.blocks, vars, shared, flat, locals)


# Compiled templates are kept in a plain dict (Jinja's ``cache_size=-1``): they are at most
# the template files once per language (and once without, if a render outside a request
# asks), some 300, and Jinja's LRU cache moves the key to the back of a deque under a lock
# on every look-up, found by a linear scan: 11 µs a get_template once a production worker
# has compiled them all (warm), 5 µs with a handful; from the dict, 4.4 µs either way (the
# rest is finding the language).
TEMPLATES_KEPT = -1


class PortalEnvironment(FlaskEnvironment):
    """Flask's Jinja environment, with :class:`_Globals` for every template's globals and
    constant translations folded in when a template is compiled.

    A template's ``_("…")`` (or a ``{% trans %}`` without placeholders) costs a handful of
    calls on every render: Jinja's alias, its newstyle wrapper, the catalogue look-up, the
    ``%`` formatting, some twenty times a page. Its result depends only on the language, so
    a template is compiled once per language (the language is part of the cache key) with
    each such call replaced by its result, exactly as the newstyle wrapper makes it:
    formatted with no variables (``%%`` becomes ``%``) and markup-safe where autoescaping is
    on. A call with variables (``{% trans name=… %}``, ``_("…", n=…)``) becomes the
    translated text, markup-safe where autoescaping is on, ``%``-formatted with them at
    render time: what the wrapper does after its look-up, so the values are escaped alike.
    Another form (``ngettext``, ``pgettext``: the form depends on the number), text that
    does not format with the names given, or a template that assigns ``_`` or ``gettext``
    itself, is left to run as before; so is any template compiled outside a request and
    without a forced language."""

    template_class = _Template

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cache_size", TEMPLATES_KEPT)
        super().__init__(*args, **kwargs)
        self._folding: ContextVar[Any] = ContextVar("folding", default=None)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return _Globals({} if d is None else d, self.globals)

    def _load_template(self, name: str, globals: MutableMapping[str, Any] | None) -> Template:
        language = _compiling_language() if self.bytecode_cache is None else None
        if self.loader is None or self.cache is None or language is None:
            return super()._load_template(name, globals)
        cache: Any = self.cache  # keyed by language too, beyond Jinja's (loader, name)
        key = (weakref.ref(self.loader), name, language)
        template = cache.get(key)
        if template is not None and (not self.auto_reload or template.is_up_to_date):
            if globals:
                template.globals.update(globals)
            return template
        from portal.i18n import _translations

        token = self._folding.set(_translations())
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            self._folding.reset(token)
        cache[key] = template
        return template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        translations = self._folding.get()
        if translations is not None:
            fold_translations(tree, translations)
        return tree


_GETTEXT_NAMES = ("_", "gettext")


def _compiling_language() -> str | None:
    """The language a template rendered now is for: the request's, or one forced with
    ``force_locale`` in an app context; None where there is neither."""
    # The locale flask_babel settled on (or was forced to) for this context, read where it
    # keeps it: get_locale() would look it up through three context proxies first.
    settled = settled_locale_name()
    if settled is None and has_request_context():
        return locale_name()  # settles the request's
    return settled


def fold_translations(tree: nodes.Template, translations: Any) -> int:
    """Replace each ``_("constant", …)``/``gettext("constant", …)`` call in ``tree`` by its
    text in ``translations``, as Jinja's newstyle gettext returns it (formatted with the
    call's variables at render time, when it has any); return how many."""
    if any(target.name in _GETTEXT_NAMES and target.ctx in ("store", "param") for target in tree.find_all(nodes.Name)):
        return 0  # the template names its own _ or gettext
    folded = 0
    for call in list(tree.find_all(nodes.Call)):
        callee = call.node
        if not (
            isinstance(callee, nodes.Name)
            and callee.name in _GETTEXT_NAMES
            and len(call.args) == 1
            and isinstance(call.args[0], nodes.Const)
            and isinstance(call.args[0].value, str)
            and call.dyn_args is None
            and call.dyn_kwargs is None
        ):
            continue
        names = [keyword.key for keyword in call.kwargs]
        text = translations.ugettext(call.args[0].value)
        try:
            shown = text % dict.fromkeys(names, "")  # formats with these names, as it will at render time
        except (KeyError, TypeError, ValueError):
            continue  # fails at render time too: left to do so there
        line = call.lineno
        if not names:
            _replace(tree, call, nodes.MarkSafeIfAutoescape(nodes.Const(shown, lineno=line), lineno=line))
        else:  # the translated text, formatted with the variables as the wrapper formats them
            values = nodes.Dict([nodes.Pair(nodes.Const(k.key), k.value, lineno=line) for k in call.kwargs])
            template = nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=line), lineno=line)
            _replace(tree, call, nodes.Mod(template, values, lineno=line))
        folded += 1
    return folded


def _replace(tree: nodes.Node, old: nodes.Node, new: nodes.Node) -> None:
    for parent in tree.find_all(nodes.Node):
        for field, value in parent.iter_fields():
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if item is old:
                        value[index] = new
                        return


def forget_fragments(app: Flask) -> None:
    """Drop every cached fragment (tests that change settings between pages)."""
    for extension in app.jinja_env.extensions.values():
        if isinstance(extension, FragmentCache):
            extension.fragments.clear()
    _kept_language_nav.cache_clear()
    _kept_url.cache_clear()


def warm(app: Flask) -> int:
    """Compile every template now (a worker's start), so no request waits for it: once
    per language, its translations folded in, as requests and forced locales (agreements,
    messages) ask for them. A template rendered with no language at all (outside a
    request, none forced: no page or document of a worker is) is compiled when asked."""
    names = [name for name in app.jinja_env.list_templates() if name.endswith(".html")]
    with app.app_context():
        for code in LOCALES:
            with force_locale(code):
                for name in names:
                    app.jinja_env.get_template(name)
    return len(names)


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension(FragmentCache)
    app.jinja_env.globals.update(language_links=language_links, language_nav=language_nav, url_for=url_for)
    if app.config["PORTAL_ENV"] == "production":
        # Templates never change under a running production worker: no file checks on
        # each render, and every one compiled before the first request. Not for CLI
        # commands (the flask command says so): a scheduler's job renders few pages.
        app.jinja_env.auto_reload = False
        if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
            warm(app)
