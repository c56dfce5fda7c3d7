"""The real stack for browser tests: daphne, one RQ worker with PaddleOCR, and
Debian's chromium driven by Playwright, all against pytest-django's test database.

The stack is started once per session (the worker takes seconds to load
PaddleOCR). That is safe with `transactional_db` because the processes only
share the database *file* and Redis, never a transaction: each test commits its
own users, and the flush after it empties the tables the next test starts from.

Roles: the flush also deletes the `clerk`/`supervisor`/`admin` groups that the
0002_roles data migration created (post_migrate re-creates permissions, not
groups). `serialized_rollback` would restore them, but it reloads every table
after every test; the `roles` fixture instead re-creates just the groups from
`reviewapp.roles.ROLE_PERMISSIONS`, the same source the migration uses.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document
from reviewapp.roles import ADMIN, CLERK, ROLE_PERMISSIONS, SUPERVISOR
from tests.conftest import REPO, make_user, shared_database_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse 42"
DEMO_USERS = (CLERK, SUPERVISOR, ADMIN)
STARTUP_TIMEOUT = 90.0
# The widths the review workspace is used at: a desktop, a laptop, a phone.
WIDTHS = (1440, 1024, 390)
HEIGHT = 900
# At or below this width the window is a phone's: stacked layout, touch.
PHONE_WIDTH = 640


@dataclass
class Stack:
    url: str
    log_dir: Path

    def logs(self) -> str:
        """Both processes' output, for a failing test's report."""
        return "\n".join(
            f"----- {log.name} -----\n{log.read_text(errors='replace')[-6000:]}"
            for log in sorted(self.log_dir.glob("*.log"))
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_until(
    ready: Callable[[], bool],
    what: str,
    stack: Stack,
    procs: list[subprocess.Popen[bytes]],
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        for process in procs:
            if process.poll() is not None:
                raise RuntimeError(f"{what}: a process exited early\n{stack.logs()}")
        if ready():
            return
        time.sleep(0.25)
    raise RuntimeError(
        f"{what} did not happen in {STARTUP_TIMEOUT:.0f} s\n{stack.logs()}"
    )


@pytest.fixture(scope="package")
def stack(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """daphne + one DocumentWorker on the test database, for the browser tests.

    Package-scoped: the worker must be gone before other test modules enqueue
    jobs it would otherwise pick up."""
    import django_rq
    from rq import Worker

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`")
    log_dir = tmp_path_factory.mktemp("stack")
    port = _free_port()
    worker_name = f"vouch-browser-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": os.environ["SECRET_KEY"],
        # Uploads from one test session never mix with a developer's var/media.
        "VOUCH_MEDIA_ROOT": str(log_dir / "media"),
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    bin_dir = Path(sys.executable).parent
    queue = django_rq.get_queue("default")
    # Jobs other tests left in Redis point at rows the flush deleted.
    queue.empty()  # type: ignore[no-untyped-call]

    commands = {
        "daphne": [
            str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port),
            "reviewapp.asgi:application",
        ],
        "worker": [
            sys.executable, "manage.py", "rqworker", "default", "--with-scheduler",
            "--serializer", "rq.serializers.JSONSerializer",
            "--worker-class", "reviewapp.runtime.worker.DocumentWorker",
            "--name", worker_name,
        ],
    }  # fmt: skip
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands.items():
            with (log_dir / f"{name}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        running = Stack(url=f"http://127.0.0.1:{port}", log_dir=log_dir)

        def daphne_answers() -> bool:
            try:
                # Our own http:// URL, never a user-supplied scheme.
                login_url = f"{running.url}/accounts/login/"
                with urllib.request.urlopen(login_url, timeout=2):  # noqa: S310
                    return True
            except (urllib.error.URLError, OSError):
                return False

        def worker_registered() -> bool:
            return any(
                worker.name == worker_name
                for worker in Worker.all(connection=queue.connection)
            )

        _wait_until(daphne_answers, "daphne answering", running, processes)
        _wait_until(worker_registered, "worker registering", running, processes)
        yield running
    finally:
        for process in processes:
            _stop(process)


# What migration 0004 marks sensitive on every installation.
DEFAULT_SENSITIVE_FIELDS = ("iban", "bic", "bank_account", "vendor_vat_id")


@pytest.fixture
def roles(transactional_db: None) -> None:
    """The role groups and the default sensitive fields: what migrations give
    every installation, re-created after the previous test's flush removed them
    (without them a browser test would see an installation that masks nothing)."""
    for name in DEFAULT_SENSITIVE_FIELDS:
        SensitiveField.objects.get_or_create(name=name)
    for role, permission_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in permission_names:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            )


@pytest.fixture
def clerk(roles: None) -> User:
    return make_user("clerk", CLERK)


@pytest.fixture
def other_clerk(roles: None) -> User:
    return make_user("other_clerk", CLERK)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running on this thread, which
    # makes Django refuse ORM calls from fixtures and tests; they are
    # synchronous code that only looks async to Django's guard.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


LoginAs = Callable[[User], Page]


@pytest.fixture
def width() -> int:
    """The window width `login_as` opens pages at: a desktop's, unless a test
    runs at several with `@pytest.mark.parametrize("width", WIDTHS)`."""
    return WIDTHS[0]


# What sticks out of the window sideways, outside any box that scrolls or
# clips it. The page's own scrollWidth is not enough: phones clip the body
# (overflow-x: clip), which cuts off what is too wide instead of widening
# the page, and the cut-off part is as unreadable as an overflow.
_STICKING_OUT = """() => {
    const width = document.documentElement.clientWidth;
    const contained = (element) => {
        for (let box = element.parentElement; box && box !== document.body;
             box = box.parentElement) {
            if (getComputedStyle(box).overflowX !== "visible") return true;
        }
        return false;
    };
    const out = [];
    for (const element of document.body.querySelectorAll("*")) {
        // A closed <details> still lays out its content, unseen.
        if (!element.checkVisibility({visibilityProperty: true})) continue;
        const rect = element.getBoundingClientRect();
        if (!rect.width || !rect.height) continue;
        if ((rect.right > width + 1 || rect.left < -1) && !contained(element)) {
            out.push(`${element.tagName.toLowerCase()}#${element.id}.` +
                `${element.getAttribute("class") || ""} ` +
                `[${Math.round(rect.left)}, ${Math.round(rect.right)}]`);
        }
    }
    return {page: document.documentElement.scrollWidth, width, out};
}"""


def assert_fits(page: Page) -> None:
    """Nothing on the page is wider than the window: the page does not scroll
    sideways and no element sticks out of it (wide tables and images scroll
    inside their own box)."""
    found = page.evaluate(_STICKING_OUT)
    assert found["page"] <= found["width"], found
    assert not found["out"], found


def _wait_for_database_quiet(timeout: float = 15.0) -> None:
    """Wait until no other session is mid-query or mid-transaction on the test
    database, so the flush after the test does not meet one.

    Closing a page ends its websockets and may leave a request or a consumer
    still running in daphne; on PostgreSQL the flush's TRUNCATE takes each
    table's exclusive lock in turn, and a request holding one table while
    waiting for another is a deadlock that fails the flush and every later
    test with it. SQLite waits on its lock instead (the 30 s busy timeout)."""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid() AND state IN "
                "('active', 'idle in transaction', 'idle in transaction (aborted)')"
            )
            (busy,) = cursor.fetchone()
        if not busy:
            return
        time.sleep(0.1)


FLUSH_ATTEMPTS = 4


@pytest.fixture(scope="package", autouse=True)
def flush_retried_after_a_lock_conflict() -> Iterator[None]:
    """Retry the flush after each browser test when PostgreSQL aborts it.

    Waiting for a quiet database before the flush narrows the window but
    cannot close it: a closing page's last beacon (the review-time POST) or
    the worker's next job can still start a transaction while TRUNCATE takes
    its table locks one by one, and PostgreSQL then aborts one of the two as
    a deadlock. The flush runs in one transaction, so when it is the one
    aborted nothing was deleted and running it again is safe. Without this a
    single lost race fails the next test on a duplicate `clerk`, and every
    test after it."""
    from django.core.management.base import CommandError
    from django.core.management.commands import flush
    from django.db import OperationalError

    flush_once = flush.Command.handle

    def flush_with_retries(self: flush.Command, **options: object) -> None:
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                flush_once(self, **options)
                return
            except CommandError as error:
                lost_a_race = isinstance(error.__cause__, OperationalError)
                if not lost_a_race or attempt == FLUSH_ATTEMPTS:
                    raise
                print(f"flush attempt {attempt} lost a lock race: {error.__cause__}")
                _wait_for_database_quiet()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flush.Command, "handle", flush_with_retries)
        yield


@pytest.fixture
def login_as(
    browser: Browser,
    stack: Stack,
    roles: None,
    width: int,
    request: pytest.FixtureRequest,
) -> Iterator[LoginAs]:
    """Log a user in through the login form in a fresh browser context,
    `width` pixels wide (a phone's window takes taps)."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []
    # The favicon, stylesheets and scripts of every page every test visits.
    missing_assets: list[str] = []

    def login(user: User) -> Page:
        context = browser.new_context(
            base_url=stack.url,
            viewport={"width": width, "height": HEIGHT},
            has_touch=width <= PHONE_WIDTH,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # Every page of every browser test runs under the Content-Security-Policy;
        # Chromium reports each refusal on the console.
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                missing_assets.append(response.url)
                if response.status == 404
                and urlsplit(response.url).path.startswith(("/static/", "/favicon"))
                else None
            ),
        )
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        # Each role lands on its own start page (a queue, or the documents).
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield login
    for context in contexts:
        context.close()
    _wait_for_database_quiet()
    allowed = getattr(request.node, "csp_violations_expected", False)
    assert allowed or not violations, (
        f"Content-Security-Policy violations: {violations}"
    )
    assert not missing_assets, f"not found: {missing_assets}"
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.logs())


@pytest.fixture
def reviewing_receipt(login_as: LoginAs, clerk: User) -> Page:
    """The clerk on the review page of the SROIE receipt they uploaded, once
    the stack's worker has read it."""
    # Imported here: that test module imports this conftest.
    from tests.browser.test_review_page import ready_document

    page = login_as(clerk)
    page.goto(ready_document(page))
    return page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    # Lets fixtures see whether the test failed, to print the servers' logs.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def demo(stack: Stack, roles: None, settings, tmp_path: Path) -> list[Document]:  # type: ignore[no-untyped-def]
    """`make run`'s demo read by the stack's worker; the demo users sign in
    with PASSWORD."""
    from tests.browser.demo_cases import load_demo, wait_until_demo_read

    settings.VAR_DIR = tmp_path
    load_demo(settings, stack)
    documents = wait_until_demo_read()
    for user in User.objects.filter(username__in=DEMO_USERS):
        user.set_password(PASSWORD)
        user.save()
    return documents
