"""Several daphne processes answering on one port.

A daphne process runs Django's synchronous views one at a time: asgiref hands
every one of them to the same thread, so a second request waits for the first
however many cores the machine has. To use more than one core, the supervisor
binds the port once and starts N daphne processes that each adopt that
listening socket (`daphne --fd`); the kernel hands each new connection to a
process that is waiting in accept(). One process dying leaves the others
answering while the supervisor starts it again.

Imports nothing from Django: `make run` uses it before settings are loaded.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

ASGI_APPLICATION = "reviewapp.asgi:application"
# Connections the kernel queues before a daphne accepts them: a whole team
# signing in within the same second must not be refused.
LISTEN_BACKLOG = 1024


def web_process_count() -> int:
    """VOUCH_WEB_PROCESSES, else one per core up to four: a web process is
    mostly Python holding the GIL, so more processes than cores only queue."""
    configured = os.environ.get("VOUCH_WEB_PROCESSES")
    if configured:
        count = int(configured)
        if count < 1:
            raise ValueError("VOUCH_WEB_PROCESSES must be at least 1")
        return count
    return max(1, min(4, os.cpu_count() or 1))


def listening_socket(host: str, port: int) -> socket.socket:
    """An IPv4 TCP socket bound and listening, inheritable by the processes it
    is passed to (daphne adopts a descriptor as IPv4). Raises OSError when the
    port is taken or `host` is not an IPv4 address of this machine."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(LISTEN_BACKLOG)
    listener.set_inheritable(True)
    return listener


def daphne_command(
    daphne: str, listener: socket.socket, *options: str
) -> Sequence[str]:
    """The command line of one daphne serving `listener` (pass its fileno to
    the child: `Supervisor.add(..., pass_fds=...)`)."""
    return [daphne, "--fd", str(listener.fileno()), *options, ASGI_APPLICATION]
