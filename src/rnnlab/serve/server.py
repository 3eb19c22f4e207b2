"""Listening and running: bind the port first (a clear error if it is taken), then uvicorn."""

from __future__ import annotations

import errno
import signal
import socket
import threading
import time
import urllib.request
from contextlib import contextmanager

from rnnlab.errors import RnnlabError
from rnnlab.serve.limits import ServeLimits


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port).

    Raises ``RnnlabError`` with the fix when the port is in use, needs
    privileges, or the host is not an address of this machine.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise RnnlabError(
            f"cannot listen on {host!r}: unknown host; pass --host 127.0.0.1 (this machine "
            "only) or --host 0.0.0.0 (every interface)"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RnnlabError(
                f"port {port} on {host} is in use; pass --port with a free port "
                f"(e.g. --port {port + 1 if port < 65535 else 8000}) or stop the other server"
            ) from None
        if exc.errno == errno.EACCES:
            raise RnnlabError(
                f"no permission to listen on port {port}; pass --port 1024 or higher"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise RnnlabError(
                f"cannot listen on {host}: not an address of this machine; "
                "pass --host 127.0.0.1 or --host 0.0.0.0"
            ) from None
        raise
    return sock


def run_server(
    app, sock: socket.socket, graceful_timeout_s: int = ServeLimits.graceful_timeout_s
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM, then shut down gracefully.

    Shutdown (uvicorn's): stop accepting connections, let running requests
    finish for up to ``graceful_timeout_s`` seconds, then run the app's
    lifespan shutdown, which waits for model calls and releases the model.
    Both signals then end in ``KeyboardInterrupt`` (from the main thread).
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=graceful_timeout_s,
        lifespan="on",
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; make SIGTERM
    # end like Ctrl-C (KeyboardInterrupt, which the CLI turns into "stopped", exit 0).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 60):
    """Serve ``app`` from a background thread; yields its base URL, stops it on exit.

    For tests, notebooks and benchmarks: ``with serve_in_thread(create_app(model)) as url:``.
    Port 0 picks a free port. Waits until ``/health`` answers (at most
    ``timeout_s`` seconds); on exit shuts down as on SIGTERM and waits for the thread.
    """
    import uvicorn

    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{bound_port}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="rnnlab-serve", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if not thread.is_alive():
                    raise RnnlabError(f"the server on {url} stopped while starting") from None
                if time.monotonic() > deadline:
                    raise RnnlabError(
                        f"the server on {url} did not answer in {timeout_s} s"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout_s)
        sock.close()
