"""Serve the dashboard of one scenario with Solara, on a local address by default.

``python -m sim dashboard SCENARIO.yaml [--port P] [--host H]`` (or
``python -m sim.dashboard.server ...``) checks the scenario, starts a Solara
server for :data:`sim.dashboard.app.Page` and prints the address once it
accepts connections.  It binds to 127.0.0.1 unless told otherwise: the page
can rebuild and run models, so exposing it is a choice to make on purpose.

The page needs no internet access once Solara's front-end files are cached
(they are installed with the project, see :mod:`sim.dashboard.assets`;
without them the page says what to run): charts are PNGs drawn on the
server, and Solara's optional web-font and telemetry requests are switched off.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from sim.scenario import load_scenario

#: Environment variable naming the scenario file the page shows (read by :data:`sim.dashboard.app.Page`).
SCENARIO_ENV = "SIM_DASHBOARD_SCENARIO"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The dashboard's command-line arguments (shared by ``python -m sim dashboard``)."""
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--port", "-p", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}, this machine only)")
    return parser


def check_address(host: str, port: int) -> None:
    """Check that the server can listen on ``host``:``port``, before it starts.

    The host is resolved and a socket bound to the address and released at
    once (with ``SO_REUSEADDR``, as uvicorn binds), so that a name that does
    not resolve, an address that is not this machine's, or a port in use is
    an error naming ``--host`` or ``--port`` instead of uvicorn's own.

    Parameters
    ----------
    host : str
        Address or name to bind.
    port : int
        Port (0 picks a free one, and always binds).

    Raises
    ------
    ScenarioError
        Naming ``--host`` or ``--port``, what went wrong and what is allowed.
    """
    import errno
    import socket

    from sim.errors import ScenarioError

    hosts = "an address or name of this machine: 127.0.0.1 (the default, this machine only), 0.0.0.0 (every network)"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ScenarioError.single("--host", "", f"{host!r} does not resolve to an address "
                                   f"({getattr(exc, 'strerror', None) or exc})", hosts) from None
    with socket.socket(family, kind, proto) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ScenarioError.single("--port", "", f"port {port} on {host} is already in use",
                                           "a free port, or 0 to pick one") from None
            if exc.errno == errno.EACCES:
                raise ScenarioError.single("--port", "", f"port {port} on {host} needs privileges to listen on",
                                           "a port from 1024 to 65535, or 0 to pick one") from None
            raise ScenarioError.single("--host", "", f"cannot listen on {host} ({exc.strerror or exc})",
                                       hosts) from None


def serve(scenario: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the dashboard of ``scenario`` until interrupted.

    Parameters
    ----------
    scenario : str or Path
        Scenario file; loaded once here so a bad file fails before the server starts.
    host : str, default "127.0.0.1"
        Address to bind.
    port : int, default 8765
        Port to listen on; 0 picks a free one (the printed address has it).

    Raises
    ------
    ScenarioError
        If the scenario file cannot be used, ``port`` is not an integer in
        [0, 65535], or the server cannot listen on ``host``:``port`` (a name
        that does not resolve, an address not of this machine, a port in
        use; see :func:`check_address`).
    """
    from sim.experiments.design import check_number

    check_number(port, "--port", low=0, high=65535)
    path = Path(scenario).resolve()
    loaded = load_scenario(path)
    check_address(host, port)
    # Solara reads its settings from the environment when first imported: set them before.
    os.environ[SCENARIO_ENV] = str(path)
    os.environ["SOLARA_APP"] = "sim.dashboard.app:Page"
    # Offline-safe: no font from a CDN, no telemetry, no "hot reload" of the code.
    os.environ.setdefault("SOLARA_ASSETS_FONTAWESOME_ENABLED", "false")
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    os.environ.setdefault("SOLARA_MODE", "production")

    import uvicorn

    from sim.dashboard.assets import FIX_COMMAND, ensure

    # Solara warns on every page load that a cookie cannot be samesite=none over plain http: it is
    # expected on localhost and falls back to lax, as it says.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    missing = ensure()   # the first start fetches them with npm, when npm is there
    if missing:
        print(f"note: Solara's front-end files ({', '.join(missing)}) are not cached, so the page explains how "
              f"to get them instead of showing the dashboard: run {FIX_COMMAND}", file=sys.stderr, flush=True)

    class Server(uvicorn.Server):
        """A uvicorn server that prints where it listens once it does."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                bound = [s.getsockname() for server in self.servers for s in server.sockets]
                actual = bound[0][1] if bound else port
                url = f"http://{host if ':' not in host else f'[{host}]'}:{actual}"
                print(f"Dashboard of '{loaded.name}' at {url}  (Ctrl+C to stop)", flush=True)

    from solara.server.starlette import app

    config = uvicorn.Config(with_assets_check(app), host=host, port=port, log_level="warning")
    Server(config).run()


def with_assets_check(app, missing=None):
    """``app`` (an ASGI app), except that the page is an explanation while Solara's front-end files are missing.

    Without them a Solara page is blank (its scripts fail to load, with only a note in the browser's console);
    this serves :func:`~sim.dashboard.assets.missing_page` instead, with status 503, naming the command that
    fetches them.  The check runs at each page load, so the dashboard appears on reload once they are there.
    """
    from sim.dashboard.assets import missing_packages, missing_page

    missing = missing_packages if missing is None else missing

    async def checked(scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "/") == "/":
            lacking = missing()
            if lacking:
                body = missing_page(lacking).encode("utf-8")
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return checked


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.dashboard.server SCENARIO.yaml [--port P] [--host H]``."""
    from sim.errors import EXIT_BAD_INPUT, ScenarioError

    parser = add_arguments(argparse.ArgumentParser(prog="python -m sim.dashboard.server",
                                                   description="Serve the dashboard of a scenario."))
    args = parser.parse_args(argv)
    try:
        serve(args.scenario, host=args.host, port=args.port)
    except ScenarioError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
