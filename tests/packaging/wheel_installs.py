"""Wheels and fresh virtual environments, as an integrator installs erpkit.

One module for the packaging tests: build each distribution's wheel from a copy of its
folder (building writes ``build/`` and ``*.egg-info`` there), list what a wheel must ship,
make a virtual environment that installs only the wheels it is given, and serve the app
from it with gunicorn on a free loopback port.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
#: The password of the admins the tests create in the installed environments.
ADMIN_PASSWORD = "packaging-admin-pw"

IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "instance",
                                 "*.db", "*.db-*", ".pytest_cache")


@dataclass(frozen=True)
class Distribution:
    """A distribution of this repository: its folder, the files its build needs, and
    where each package folder of the source lands in the wheel."""

    name: str
    folder: str
    #: Only these entries of ``folder`` are copied (the core shares the root with tests/).
    parts: tuple[str, ...] | None
    #: Source folder (relative to the repository) -> its path inside the wheel.
    packages: tuple[tuple[str, str], ...]

    @property
    def wheel_prefix(self) -> str:
        return self.name.replace("-", "_")


DISTRIBUTIONS = {
    d.name: d
    for d in (
        Distribution("erpkit", ".", ("setup.cfg", "pyproject.toml", "README.md", "core",
                                     "migrations"),
                     (("core/erpkit", "erpkit"), ("migrations", "erpkit/migrations"))),
        Distribution("erpkit-orders", "plugins/orders", None,
                     (("plugins/orders/erpkit_orders", "erpkit_orders"),)),
        Distribution("erpkit-approvals", "plugins/approvals", None,
                     (("plugins/approvals/erpkit_approvals", "erpkit_approvals"),)),
        Distribution("erpkit-inventory", "plugins/inventory", None,
                     (("plugins/inventory/erpkit_inventory", "erpkit_inventory"),)),
        Distribution("erpkit-embargo", "examples/embargo", None,
                     (("examples/embargo/erpkit_embargo", "erpkit_embargo"),)),
    )
}

#: What a wheel must carry: modules and migration scripts, templates, assets, and the
#: ``py.typed`` marker (whose suffix is ".typed").
SHIPPED_SUFFIXES = {".py", ".html", ".css", ".js", ".png", ".svg", ".json", ".mako", ".typed"}


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout, check=False)


def must(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def copy_source(dist: Distribution, target: Path) -> Path:
    """The distribution's folder, copied (tests/ and all: discovery must leave it out)."""
    source, copy = ROOT / dist.folder, target / dist.wheel_prefix
    if dist.parts is None:
        shutil.copytree(source, copy, ignore=IGNORED)
        return copy
    copy.mkdir(parents=True)
    for part in dist.parts:
        if (source / part).is_dir():
            shutil.copytree(source / part, copy / part, ignore=IGNORED)
        else:
            shutil.copy2(source / part, copy / part)
    return copy


def build_wheels(names: list[str], sources: Path, out: Path) -> dict[str, Path]:
    """``pip wheel --no-deps`` of each named distribution; name -> wheel file."""
    built = {}
    for name in names:
        dist = DISTRIBUTIONS[name]
        folder = copy_source(dist, sources)
        # The build backend (setuptools) is the test venv's: no download per build.
        must(run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--quiet", "--wheel-dir", out, folder))
        [wheel] = out.glob(f"{dist.wheel_prefix}-*.whl")
        built[name] = wheel
    return built


def files_to_ship(dist: Distribution) -> set[str]:
    """Every file under the distribution's package folders a wheel must carry, as wheel
    paths: modules, migrations, templates, static assets, ``py.typed``."""
    wanted = set()
    for source, inside in dist.packages:
        base = ROOT / source
        for path in base.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts \
                    and path.suffix in SHIPPED_SUFFIXES:
                wanted.add(f"{inside}/{path.relative_to(base).as_posix()}")
    return wanted


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if ".dist-info/" not in n}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Venv:
    """A fresh virtual environment holding only the wheels it was given, with ``erpkit``
    commands on its own database."""

    def __init__(self, path: Path, database_url: str, workdir: Path) -> None:
        self.path = path
        self.bin = path / "bin"
        self.database_url = database_url
        self.cwd = workdir

    @classmethod
    def create(cls, root: Path, database_url: str, wheels: dict[str, Path], install: list[str],
               extras: str = "serve") -> Venv:
        """A venv with ``erpkit[extras]`` and the named plugin distributions from the built
        wheels; third-party dependencies come from the package index."""
        base_python = getattr(sys, "_base_executable", sys.executable)
        must(run(base_python, "-m", "venv", root / "env"))
        workdir = root / "work"
        workdir.mkdir()
        venv = cls(root / "env", database_url, workdir)
        # Our distributions by file, so a same-named project on the package index is never
        # taken instead; --find-links resolves what they require of each other.
        core = wheels["erpkit"].as_uri()
        requirements = [f"erpkit[{extras}] @ {core}" if extras else str(wheels["erpkit"]),
                        *(str(wheels[name]) for name in install)]
        links = sorted({str(w.parent) for w in wheels.values()})
        must(venv.pip("install", "--quiet", *(f"--find-links={link}" for link in links),
                      *requirements))
        return venv

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ERPKIT_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(ERPKIT_DATABASE_URL=self.database_url, **extra)
        return env

    def erpkit(self, *args: str, input: str | None = None,
               **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / "erpkit"), *args], capture_output=True,
                              text=True, env=self.env(**extra_env), cwd=self.cwd, input=input,
                              timeout=600, check=False)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return run(self.bin / "python", "-c", textwrap.dedent(code), env=self.env(),
                   cwd=self.cwd)

    def pip(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return run(self.bin / "python", "-m", "pip", "--disable-pip-version-check", *args,
                   env=self.env(), cwd=self.cwd)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """gunicorn serving the app from this venv on a free loopback port; yields the
        base URL once ``/health`` answers, stops the server afterwards."""
        port = free_port()
        # Plain HTTP on loopback: the session cookie must not be Secure-only here (in
        # production a proxy terminates TLS and the default Secure cookie applies).
        factory = "erpkit.app:create_app({'SECURE_COOKIES': False})"
        log = self.cwd / f"gunicorn-{port}.log"
        with log.open("w") as output:
            server = subprocess.Popen(
                [str(self.bin / "gunicorn"), "--workers", "1", "--no-control-socket",
                 "--bind", f"127.0.0.1:{port}", factory],
                env=self.env(ERPKIT_SECRET_KEY="packaging-test-secret"), cwd=self.cwd,
                stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, server, log)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            requests.get(f"{base}/health", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()}")


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_login(base: str, login: str, password: str) -> requests.Session:
    """A browser-free client logged in through the console's login form."""
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=30)
    assert page.status_code == 200, page.text
    token = CSRF_FIELD.search(page.text)
    assert token, page.text
    answer = client.post(f"{base}/login", timeout=30, allow_redirects=False, data={
        "csrf_token": token.group(1), "login": login, "password": password, "next": "/admin/"})
    assert answer.status_code == 302, answer.text
    return client


def assert_page(client: requests.Session, url: str) -> str:
    """GET ``url``: an HTML 200 page with no error in it."""
    page = client.get(url, timeout=30, allow_redirects=False)
    assert page.status_code == 200, f"{url}: {page.status_code}\n{page.text[:2000]}"
    assert page.headers["Content-Type"].startswith("text/html"), page.headers
    for error in ("Traceback", "Internal Server Error", "TemplateNotFound"):
        assert error not in page.text, f"{url}: {error}\n{page.text[:2000]}"
    return page.text
