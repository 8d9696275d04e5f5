"""A real Sentry 23.7.1 on 127.0.0.1, owned by this repository.

``python tools/live/harness.py up`` installs Sentry 23.7.1 (the Django server,
from PyPI) in its own Python 3.8 virtualenv, starts PostgreSQL and Redis on
127.0.0.1, migrates, seeds an organization (see ``seed.py``), serves it with
``sentry run web`` and writes ``state.json`` (URL, slugs and tokens) in the
cache directory. ``down`` stops, by PID, everything ``up`` started. Everything
built is kept in the cache directory (``$SMA_LIVE_DIR``, default
``~/.cache/sentry-members-live``): a second ``up`` restores the seeded database
from a template and starts in seconds.

Facts this follows (measured on Debian 12): sentry 23.7.1 needs Python 3.8 and
``pip<24.1`` (celery 4.4.7's metadata); PostgreSQL refuses to run as root;
``SENTRY_SELF_HOSTED=False`` is needed for ``X-Sentry-Rate-Limit-*`` headers.

Only the standard library: nox runs this with its own interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SENTRY_VERSION = "23.7.1"
#: Several servers can run side by side (``SMA_LIVE_INSTANCE=1``, ...): each has
#: its own database (copied from one template), Redis, configuration and port;
#: they share the virtualenv and the PostgreSQL cluster.
INSTANCE = int(os.environ.get("SMA_LIVE_INSTANCE", "0"))
# Below Linux's ephemeral range (32768-60999): an outgoing connection cannot hold them.
PG_PORT = int(os.environ.get("SMA_LIVE_PG_PORT", "25439"))
REDIS_PORT = int(os.environ.get("SMA_LIVE_REDIS_PORT", str(26389 + INSTANCE)))
WEB_PORT = int(os.environ.get("SMA_LIVE_PORT", str(29023 + INSTANCE)))
SUFFIX = f"-{INSTANCE}" if INSTANCE else ""
DB = f"sentry{SUFFIX.replace('-', '_')}"
TEMPLATE_DB = "sentry_seeded"
#: Bump when seed.py or the configuration changes: the next ``up`` re-seeds.
SEED_REVISION = "4"


class Missing(RuntimeError):
    """Something the harness needs is not on this machine."""


def cache_dir() -> Path:
    env = os.environ.get("SMA_LIVE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "sentry-members-live"


def pg_dir(base: Path) -> Path:
    # PostgreSQL runs as the `postgres` user when we are root; it cannot enter
    # /root, so its data directory then lives where it can.
    if os.geteuid() == 0 and str(base).startswith("/root"):
        return Path("/var/tmp/sentry-members-live-pg")
    return base / "pg"


def state_file(base: Path) -> Path:
    """Where ``up`` writes the URL, tokens and PIDs of this instance."""
    return base / f"state{SUFFIX}.json"


def log(message: str) -> None:
    print(f"live-sentry: {message}", flush=True)


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


# --- what the machine must have --------------------------------------------------


def find_python38() -> str:
    candidates = [os.environ.get("SMA_PYTHON38", "")]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.8*/bin/python3.8")))
    candidates += sorted(glob.glob("/root/.pyenv/versions/3.8*/bin/python3.8"))
    candidates += [shutil.which("python3.8") or ""]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    raise Missing(
        "Python 3.8 not found (sentry 23.7.1 runs only on 3.8): install it "
        "(`pyenv install 3.8.18`) or point SMA_PYTHON38 at a python3.8"
    )


def pg_bin(name: str) -> str:
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    found = shutil.which(name)
    if found:
        return found
    raise Missing(f"PostgreSQL's {name} not found: apt-get install postgresql")


def redis_bin() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise Missing("redis-server not found: apt-get install redis-server")
    return found


def check_build_deps() -> None:
    if shutil.which("pkg-config") is None:
        raise Missing("pkg-config not found: apt-get install pkg-config libxmlsec1-dev")
    probe = subprocess.run(["pkg-config", "--exists", "xmlsec1"], check=False)
    if probe.returncode != 0:
        raise Missing("libxmlsec1-dev not found (xmlsec builds from source): apt-get install it")


# --- install ------------------------------------------------------------------------


def install(base: Path) -> Path:
    venv = base / "venv"
    sentry = venv / "bin" / "sentry"
    marker = venv / f".sentry-{SENTRY_VERSION}"
    if marker.exists() and sentry.exists():
        return sentry
    check_build_deps()
    python38 = find_python38()
    log(f"installing sentry=={SENTRY_VERSION} into {venv} (about 100 s from a cold cache)")
    if not (venv / "bin" / "python").exists():
        run([python38, "-m", "venv", str(venv)])
    pip = str(venv / "bin" / "pip")
    run([pip, "install", "-q", "pip<24.1", "wheel"])
    run([pip, "install", "-q", f"sentry=={SENTRY_VERSION}"])
    marker.touch()
    return sentry


# --- PostgreSQL and Redis -----------------------------------------------------------


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_postgres(base: Path) -> None:
    data = pg_dir(base)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        run(
            as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
            stdout=subprocess.DEVNULL,
        )
    pidfile = data / "postmaster.pid"
    if pidfile.exists():
        lines = pidfile.read_text().splitlines()
        if len(lines) > 3 and lines[3].strip() == str(PG_PORT) and port_open(PG_PORT):
            return
        stop_postgres(data)  # left running on another port, or dead with a stale pid file
    options = (
        f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    run(
        as_postgres(
            [
                pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(data / "server.log"),
                "-w",
                "start",
            ]
        ),
        stdout=subprocess.DEVNULL,
    )


def stop_postgres(data: Path) -> None:
    subprocess.run(
        as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def psql(sql: str, db: str = "postgres") -> str:
    out = run(
        [
            pg_bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-d",
            db,
            "-tAc",
            sql,
        ],
        capture_output=True,
    )
    return out.stdout.strip()


def start_redis(base: Path) -> None:
    if port_open(REDIS_PORT):
        return
    for port in (REDIS_PORT, WEB_PORT):
        if not port_free(port):
            raise Missing(f"port {port} is taken on 127.0.0.1: choose another SMA_LIVE_INSTANCE")
    where = base / f"redis{SUFFIX}"
    where.mkdir(parents=True, exist_ok=True)
    run(
        [
            redis_bin(),
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(where),
            "--pidfile",
            str(where / "redis.pid"),
            "--logfile",
            str(where / "log"),
        ]
    )
    wait_for(lambda: port_open(REDIS_PORT), 10, "redis")


def flush_redis() -> None:
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as conn:
        conn.sendall(b"FLUSHALL\r\n")
        conn.recv(64)


# --- Sentry's configuration, migrations and seed -------------------------------------


def configure(base: Path, sentry: Path) -> Path:
    conf = base / f"conf{SUFFIX}"
    if not (conf / "config.yml").exists():
        run([str(sentry), "init", str(conf)], stdout=subprocess.DEVNULL)
    files = base / "files"
    files.mkdir(exist_ok=True)
    (conf / "config.yml").write_text(
        (HERE / "config.yml")
        .read_text()
        .replace("@REDIS_PORT@", str(REDIS_PORT))
        .replace("@FILES@", str(files))
        .replace("@URL@", f"http://127.0.0.1:{WEB_PORT}")
    )
    generated = (conf / "sentry.conf.py").read_text().split("# --- sentry-members-live ---")[0]
    overrides = (
        (HERE / "sentry_conf_overrides.py")
        .read_text()
        .replace("@PG_PORT@", str(PG_PORT))
        .replace("@DB@", DB)
        .replace("@REDIS_PORT@", str(REDIS_PORT))
    )
    (conf / "sentry.conf.py").write_text(
        generated + "# --- sentry-members-live ---\n" + overrides + variant()
    )
    return conf


def variant() -> str:
    """Settings of this instance from the environment, for the answers tests need.

    ``SMA_LIVE_RATELIMIT=N``: the generic rate limiter on, N requests per
    window (it then answers 429s: text/html, no Retry-After).
    ``SMA_LIVE_SELF_HOSTED=1``: Sentry's default for self-hosted installs (no
    ``X-Sentry-Rate-Limit-*`` headers at all).
    """
    lines = []
    limit = os.environ.get("SMA_LIVE_RATELIMIT")
    if limit:
        lines += ["SENTRY_RATELIMITER_ENABLED = True", f"SENTRY_RATELIMITER_DEFAULT = {int(limit)}"]
    if os.environ.get("SMA_LIVE_SELF_HOSTED") == "1":
        lines += ["SENTRY_SELF_HOSTED = True"]
    return "".join(f"{line}\n" for line in lines)


def sentry_env(conf: Path) -> dict[str, str]:
    env = dict(os.environ, SENTRY_CONF=str(conf), PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def database_ready(base: Path) -> None:
    """The ``sentry`` database, migrated and seeded: from the template when one exists."""
    marker = base / f".seeded-{SEED_REVISION}"
    sentry = base / "venv" / "bin" / "sentry"
    conf = base / f"conf{SUFFIX}"
    has_template = psql(f"SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE_DB}'") == "1"
    if marker.exists() and has_template:
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        psql(f"CREATE DATABASE {DB} TEMPLATE {TEMPLATE_DB}")
        return
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
    psql(f"CREATE DATABASE {DB}")
    log("migrating (sentry upgrade, about 70 s)")
    started = time.monotonic()
    run([str(sentry), "upgrade", "--noinput"], env=sentry_env(conf), stdout=subprocess.DEVNULL)
    log(f"migrated in {time.monotonic() - started:.0f} s; seeding")
    seed_out = base / "seed.json"
    env = dict(sentry_env(conf), SMA_SEED_OUT=str(seed_out))
    run([str(sentry), "exec", str(HERE / "seed.py")], env=env)
    psql(f"CREATE DATABASE {TEMPLATE_DB} TEMPLATE {DB}")
    for old in base.glob(".seeded-*"):
        old.unlink()
    marker.touch()


# --- the web server -------------------------------------------------------------------


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # as servers bind: a connection in TIME-WAIT from the last run is no owner
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(ready: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {seconds:.0f} s")


def healthy() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/_health/", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def start_web(base: Path) -> int:
    conf = base / f"conf{SUFFIX}"
    sentry = base / "venv" / "bin" / "sentry"
    logfile = open(base / f"web{SUFFIX}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [str(sentry), "run", "web", "--bind", f"127.0.0.1:{WEB_PORT}", "--workers", "2"],
        env=sentry_env(conf),
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(healthy, 90, "sentry web")
    return proc.pid


# --- commands ---------------------------------------------------------------------------


@contextlib.contextmanager
def setup_lock(base: Path) -> Iterator[None]:
    """One instance at a time installs, starts PostgreSQL and builds the template
    (instances started together on a cold machine would race on the shared venv,
    the shared cluster and the template database)."""
    with (base / "setup.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def starting_file(base: Path) -> Path:
    """Present while this instance's ``up`` runs: another instance's ``down``
    leaves the shared PostgreSQL running for it."""
    return base / f"starting{SUFFIX}.pid"


def others_running(base: Path) -> bool:
    """Another instance is up, or is starting (its ``up`` process alive)."""
    if any(path != state_file(base) for path in base.glob("state*.json")):
        return True
    for path in base.glob("starting*.pid"):
        if path == starting_file(base):
            continue
        try:
            os.kill(int(path.read_text().strip() or 0), 0)
        except (ValueError, ProcessLookupError, PermissionError):
            continue
        return True
    return False


def up(args: argparse.Namespace) -> int:
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    starting = starting_file(base)
    starting.write_text(str(os.getpid()))
    try:
        return _up(args, base, started)
    finally:
        starting.unlink(missing_ok=True)


def _up(args: argparse.Namespace, base: Path, started: float) -> int:
    try:
        with setup_lock(base):
            sentry = install(base)
            redis_bin()
            pg_bin("initdb")
            down(args, quiet=True)
            start_postgres(base)
        start_redis(base)
    except Missing as exc:
        log(f"cannot run: {exc}")
        return 3
    flush_redis()
    configure(base, sentry)
    with setup_lock(base):
        database_ready(base)
    pid = start_web(base)
    seed = json.loads((base / "seed.json").read_text())
    state = {
        "url": f"http://127.0.0.1:{WEB_PORT}",
        "web_pid": pid,
        "pg_data": str(pg_dir(base)),
        "redis_port": REDIS_PORT,
        "sentry": str(sentry),
        "conf": str(base / f"conf{SUFFIX}"),
        "database": DB,
        "pg_port": PG_PORT,
        "web_log": str(base / f"web{SUFFIX}.log"),
        "psql": pg_bin("psql"),
        **seed,
    }
    state_file(base).write_text(json.dumps(state, indent=2))
    log(f"up at {state['url']} in {time.monotonic() - started:.0f} s; state: {state_file(base)}")
    return 0


def down(args: argparse.Namespace, quiet: bool = False) -> int:
    base = cache_dir()
    mine = state_file(base)
    if mine.exists():
        state = json.loads(mine.read_text())
        stop_pid(int(state.get("web_pid", 0)))
        mine.unlink()
    pidfile = base / f"redis{SUFFIX}" / "redis.pid"
    if pidfile.exists():
        stop_pid(int(pidfile.read_text().strip() or 0))
    data = pg_dir(base)
    if (data / "postmaster.pid").exists() and not others_running(base):
        stop_postgres(data)
    if not quiet:
        log("stopped")
    return 0


def stop_pid(pid: int) -> None:
    if pid <= 0:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="install if needed, start, seed, serve; write state.json")
    sub.add_parser("down", help="stop everything up started")
    sub.add_parser("state", help="print where up writes this instance's state file")
    args = parser.parse_args(argv)
    if args.command == "state":
        print(state_file(cache_dir()))
        return 0
    return up(args) if args.command == "up" else down(args)


if __name__ == "__main__":
    sys.exit(main())
