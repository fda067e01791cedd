"""Running the explorer: bind the address first (a taken port is one clear error), then serve with uvicorn."""

from __future__ import annotations

import errno
import socket

import uvicorn

from ..errors import DCGANError
from .api import create_app
from .explorer import Explorer


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one."""
    if not 0 <= port <= 65535:
        raise DCGANError(f"port {port} is not a TCP port", "pass --port between 1 and 65535 (0: any free one)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DCGANError(f"cannot resolve the host {host!r} ({exc})", "pass --host 127.0.0.1 or an address") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DCGANError(
                f"port {port} on {host} is already in use (another explorer or program is listening there)",
                f"stop that program, or pass another --port, e.g. --port {port + 1} (--port 0 picks a free one)",
            ) from None
        raise DCGANError(f"cannot listen on {host}:{port} ({exc.strerror})", "pass another --host or --port") from None
    sock.listen(128)
    return sock


def serve(
    checkpoints: list[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    device: str = "cpu",
    generator: str = "auto",
    start_class: str | None = None,
) -> None:
    """Serve the explorer on ``checkpoints`` (their ``generator``: 'auto', 'ema' or 'raw'; a conditional one's page
    starting at ``start_class``) until Ctrl-C; prints the address to open."""
    explorer = Explorer(checkpoints, device, generator, start_class)
    sock = bind(host, port)
    shown = sock.getsockname()
    print(f"dcgan explorer on http://{host if ':' not in host else f'[{host}]'}:{shown[1]}/ (Ctrl-C stops)", flush=True)
    config = uvicorn.Config(create_app(explorer), log_level="warning")
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if server.should_exit:  # stopped by Ctrl-C or SIGTERM: uvicorn re-raises the signal, but asyncio can swallow it
        raise KeyboardInterrupt
