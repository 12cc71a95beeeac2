"""Page throughput beside a bare Flask route, measured the way issue 15 does.

Run from the repository root:  python bench/pages.py [--seconds 8] [--database portal_bench]
(or ``make bench-pages``). Needs a PostgreSQL server (``PORTAL_BENCH_PG_ADMIN_URL``, by
default the test server) and ``wrk`` (``scripts/system-packages test`` installs it).

In one run: a fresh PostgreSQL database of its own is migrated and loaded with the demo
data; a one-route Flask app (``bench/bare_flask.py``) and the portal each run under
gunicorn with 2 sync workers and no access log; a cardholder and a care agent sign in
once through the real flows (the cardholder's code read from the dev outbox, the agent's
from ``portal staff totp``) and their session cookies are reused. wrk (2 threads × 32
connections) then drives the bare route and each page in turn, the bare route between
every two pages, so that the machine's other load hits both alike: each page's ratio is
to the mean of the bare runs just before and after it. wrk counts a redirect as a
success, so every page must answer 200 both before and after its run, or the bench stops.
The table ends with each target of the issue and whether this run met it. The machine is
shared and a page's ratio moves by a third from run to run: ``--rounds N`` measures every
page N times in turn and prints the median and the range of its ratios. ``--empty``
serves ``bench/portal_empty.py`` instead, the portal with one route more that does nothing,
and measures that route first: the cost of the per-request shell alone.

Redis: by default the portal keeps sessions in the database and counts rate limits in each
worker's memory, as ``make run`` does; ``--redis URL`` serves it as deploy/compose.yaml does,
with sessions, rate limits and sign-in counters in Redis (one Redis round trip instead of a
database statement for each signed-in request's session check).

Accept-Encoding: by default the requests carry none, as in the issue's measurements, so a
page's figure is the portal's own work, comparable run to run and machine to machine; a
production portal behind a proxy leaves compression to it (README, "Compression") and
then does exactly this work. ``--compressed`` sends a browser's
``Accept-Encoding: gzip, deflate, br`` to every page and to the bare route alike (whose
13 bytes are never compressed), to measure what compressing in the portal costs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.demo import DEMO_CARDHOLDERS  # noqa: E402 - after sys.path
from portal.staff.service import DEMO_STAFF  # noqa: E402 - after sys.path

ADMIN_URL = os.environ.get("PORTAL_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CARDHOLDER = DEMO_CARDHOLDERS[3]  # Zhang Wei: English, CNY, 35 days past due, several offers
AGENT = next(s for s in DEMO_STAFF if s.email == "agent@example.com")
SESSION_COOKIE = "portal_session"
LEARN_TOPIC = "/learn/annualised-rate"
# Targets of issue 15 (ratio to bare Flask, same run), by audience; "shell" is the empty
# route of --empty (the lead's target for the per-request shell, not the issue's).
TARGETS = {"public": 0.5, "cardholder": 0.3, "care": 0.2, "shell": 0.85}
P99_TARGET_MS = 50.0  # cardholder pages at 32 connections
BROWSER_ENCODINGS = "gzip, deflate, br"
# One browser: the sign-in client, the checks and wrk all send this. Flask-Login's session
# protection ties a session to the address and user agent it signed in with; a request
# from another agent marks it not fresh and re-issues the cookie, which wrk never keeps,
# so every request would pay for a new cookie no real browser asks for.
USER_AGENT = "portal-bench/1"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    audience: str  # public, cardholder or care: which cookie, which target


@dataclass(frozen=True)
class Run:
    rps: float
    p99_ms: float
    errors: int


# --- the servers ------------------------------------------------------------------------


def fresh_database(name: str) -> str:
    """Drop and create the PostgreSQL database ``name``; return its URL."""
    import sqlalchemy as sa

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"--database must be a plain lower-case name, not {name!r}")
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def flask(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app wsgi ARGS`` against the bench database; return its output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(app: str, chdir: Path, env: dict[str, str], workdir: Path) -> Iterator[str]:
    """Serve ``app`` with 2 sync workers and no access log; yield its base URL."""
    port = free_port()
    name = app.split(":")[0]
    # An explicit config file: gunicorn would otherwise read the repository's
    # gunicorn.conf.py, which turns the access log on.
    config = workdir / f"{name}.gunicorn.py"
    config.write_text("workers = 2\nworker_class = 'sync'\naccesslog = None\nloglevel = 'warning'\n")
    log = workdir / f"{name}.log"
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "--chdir", str(chdir), "-b", f"127.0.0.1:{port}"]
    with log.open("wb") as output:
        process = subprocess.Popen([*command, app], cwd=chdir, env=env, stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(base + "/", timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # answering at all is up
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer at {base} within 60 s:\n{log.read_text()[-3000:]}")


# --- signing in through the real flows -----------------------------------------------------


class Browser:
    """A cookie-keeping client for the sign-in forms (follows redirects)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        status, html = self.get(path)
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
        if status != 200 or found is None:
            raise SystemExit(f"no form at {path} (HTTP {status})")
        return found.group(1)

    def cookie(self) -> str:
        value = next((c.value for c in self.jar if c.name == SESSION_COOKIE), None)
        if value is None:
            raise SystemExit("signing in set no session cookie")
        return f"{SESSION_COOKIE}={value}"


def cardholder_cookie(base: str, env: dict[str, str]) -> str:
    """Sign the demo cardholder in: card and birth date, then the code from the dev outbox."""
    browser = Browser(base)
    fields = {"card_number": CARDHOLDER.card_number, "date_of_birth": CARDHOLDER.date_of_birth.isoformat()}
    browser.post("/sign-in", {"csrf_token": browser.token("/sign-in"), **fields})
    messages = json.loads(flask(env, "portal", "outbox", "--json", "--limit", "5"))
    codes = [re.search(r"\b(\d{6})\b", m["body"]) for m in messages if m["recipient"] == CARDHOLDER.phone]
    if not codes or codes[0] is None:
        raise SystemExit("no sign-in code in the dev outbox")
    status, _ = browser.post("/sign-in/code", {"csrf_token": browser.token("/sign-in/code"), "code": codes[0][1]})
    if status != 200:
        raise SystemExit(f"the sign-in code was refused (HTTP {status})")
    return browser.cookie()


def agent_cookie(base: str, env: dict[str, str]) -> str:
    """Sign the demo care agent in with password and the current authenticator code."""
    browser = Browser(base)
    token = browser.token("/care/sign-in")
    code = flask(env, "portal", "staff", "totp", AGENT.email).strip()
    fields = {"csrf_token": token, "email": AGENT.email, "password": AGENT.password, "code": code}
    status, _ = browser.post("/care/sign-in", fields)
    if status != 200:
        raise SystemExit(f"the care agent's sign-in was refused (HTTP {status})")
    return browser.cookie()


def status_of(base: str, path: str, cookie: str | None) -> tuple[int, str]:
    """One GET without following redirects (a redirect to sign-in must show as such)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# --- wrk ---------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, cookie: str | None, seconds: int, threads: int, connections: int, encodings: str = "") -> Run:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    command += ["-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if encodings:
        command += ["-H", f"Accept-Encoding: {encodings}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rps is None or p99 is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx[1]) if non_2xx else 0
    return Run(float(rps[1]), float(p99[1]) * _UNIT_MS[p99[2]], errors)


# --- the run -------------------------------------------------------------------------------


def discover_pages(base: str, cardholder: str, agent: str) -> list[Page]:
    """The seven pages; the offer and the case file are found on the pages that list them."""
    _, offers = status_of(base, "/plan/offers", cardholder)
    offer = re.search(r'href="(/plan/offers/[0-9a-f]{8,})"', offers)
    _, queue = status_of(base, "/care/", agent)
    case = re.search(r'href="(/care/accounts/\d+)"', queue)
    if offer is None or case is None:
        raise SystemExit("found no offer on the offers page or no account in the care queue")
    return [
        Page("sign-in", "/sign-in", "public"),
        Page("learn topic", LEARN_TOPIC, "public"),
        Page("account", "/account", "cardholder"),
        Page("offers", "/plan/offers", "cardholder"),
        Page("offer detail", offer[1], "cardholder"),
        Page("case file", case[1], "care"),
        Page("care queue", "/care/", "care"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run (the issue's 8 s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", default=os.environ.get("PORTAL_BENCH_PG_DB", "portal_bench"))
    parser.add_argument("--compressed", action="store_true", help=f"send Accept-Encoding: {BROWSER_ENCODINGS}")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every page this many times, in turn; the table gives the medians and the ratio's range",
    )
    parser.add_argument(
        "--empty", action="store_true", help="serve bench/portal_empty.py and measure its empty route first"
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="serve with PORTAL_REDIS_URL=URL, as deploy/compose.yaml does: sessions, rate limits and "
        "sign-in counters in Redis (the database is emptied first), e.g. redis://127.0.0.1:6379/13",
    )
    args = parser.parse_args()

    url = fresh_database(args.database)
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_ENV": "development", "PYTHONPATH": str(ROOT)}
    if args.redis:
        from portal.redis_store import connect

        connect(args.redis).flushdb()  # sessions and counters of an earlier run
        env["PORTAL_REDIS_URL"] = args.redis
    flask(env, "db", "upgrade")
    flask(env, "portal", "demo")
    # --empty: the portal with one route more (bench/portal_empty.py), imported from bench/.
    portal_app, portal_dir = ("portal_empty:app", ROOT / "bench") if args.empty else ("wsgi:app", ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with (
            gunicorn("bare_flask:app", ROOT / "bench", env, workdir) as bare,
            gunicorn(portal_app, portal_dir, env, workdir) as portal,
        ):
            cookies = {"public": None, "cardholder": cardholder_cookie(portal, env), "care": agent_cookie(portal, env)}
            cookies["shell"] = None
            pages = discover_pages(portal, cookies["cardholder"], cookies["care"])
            if args.empty:
                pages = [Page("empty route", "/bench/empty", "shell"), *pages]

            def check(page: Page) -> None:
                status, _ = status_of(portal, page.path, cookies[page.audience])
                if status != 200:
                    raise SystemExit(f"{page.name} ({page.path}) answered HTTP {status}, not 200")

            encodings = BROWSER_ENCODINGS if args.compressed else ""

            def measure(target: str, cookie: str | None, seconds: int) -> Run:
                return wrk(target, cookie, seconds, args.threads, args.connections, encodings)

            for page in pages:  # warm every worker: compiled templates, connections, caches
                check(page)
                measure(portal + page.path, cookies[page.audience], 1)
            measure(bare + "/", None, 1)

            bare_runs = [measure(bare + "/", None, args.seconds)]
            results: dict[Page, list[tuple[Run, float]]] = {page: [] for page in pages}
            for _ in range(max(args.rounds, 1)):
                for page in pages:
                    run = measure(portal + page.path, cookies[page.audience], args.seconds)
                    check(page)
                    bare_runs.append(measure(bare + "/", None, args.seconds))
                    results[page].append((run, (bare_runs[-2].rps + bare_runs[-1].rps) / 2))
    report(bare_runs, results, args)


def report(bare_runs: list[Run], results: dict[Page, list[tuple[Run, float]]], args: argparse.Namespace) -> None:
    """One row a page: with several rounds, the median req/s, p99 and ratio (each a median
    of its own), errors summed, and the lowest and highest ratio of the rounds."""
    encoding = f"Accept-Encoding: {BROWSER_ENCODINGS}" if args.compressed else "no Accept-Encoding"
    rounds = max(args.rounds, 1)
    print(
        f"gunicorn 2 sync workers, wrk {args.threads} threads x {args.connections} connections, "
        f"{args.seconds} s per run, {encoding}, bare route between pages; ratio to the neighbouring bare runs"
        + (f"; {rounds} rounds, medians" if rounds > 1 else "")
    )
    spread = f" {'range':>13}" if rounds > 1 else ""
    print(f"{'page':<14} {'req/s':>8} {'p99 ms':>8} {'ratio':>7}{spread} {'target':>7} {'errors':>7}  met")
    bare_rps = statistics.median(r.rps for r in bare_runs)
    bare_p99 = max(r.p99_ms for r in bare_runs)
    bare_errors = sum(r.errors for r in bare_runs)
    blank = f" {'':>13}" if rounds > 1 else ""
    print(f"{'bare Flask':<14} {bare_rps:>8.0f} {bare_p99:>8.1f} {1:>7.2f}{blank} {'':>7} {bare_errors:>7}")
    missed: dict[str, list[str]] = {}
    for page, runs in results.items():
        ratios = [run.rps / neighbours for run, neighbours in runs]
        ratio = statistics.median(ratios)
        run = Run(
            statistics.median(r.rps for r, _ in runs),
            statistics.median(r.p99_ms for r, _ in runs),
            sum(r.errors for r, _ in runs),
        )
        spread = f" {min(ratios):>6.3f}-{max(ratios):<6.3f}" if rounds > 1 else ""
        target = TARGETS[page.audience]
        misses = []
        if ratio < target:
            misses.append(f"{page.audience} >= {target}x")
        if page.audience == "cardholder" and run.p99_ms > P99_TARGET_MS:
            misses.append(f"p99 <= {P99_TARGET_MS:.0f} ms")
        if run.errors:
            misses.append("no errors")
        for miss in misses:
            missed.setdefault(miss.split(" ")[0] if miss != "no errors" else miss, []).append(page.name)
        met = "yes" if not misses else "no: " + ", ".join(misses)
        figures = f"{run.rps:>8.0f} {run.p99_ms:>8.1f} {ratio:>7.3f}{spread} {target:>7.2f} {run.errors:>7}"
        print(f"{page.name:<14} {figures}  {met}")
    if bare_errors:
        missed.setdefault("no errors", []).append("bare Flask")
    print("targets:")
    for audience, target in TARGETS.items():
        pages = missed.get(audience)
        print(f"  {audience} pages >= {target}x bare Flask: " + (f"missed ({', '.join(pages)})" if pages else "met"))
    late = missed.get("p99")
    print(f"  p99 <= {P99_TARGET_MS:.0f} ms on cardholder pages: " + (f"missed ({', '.join(late)})" if late else "met"))
    failed = missed.get("no errors")
    print("  no errors: " + (f"missed ({', '.join(failed)})" if failed else "met"))


if __name__ == "__main__":
    main()
