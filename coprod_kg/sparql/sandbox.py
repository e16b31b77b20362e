"""The operating-system barriers of a query worker process: no network, bounded memory.

Installed by each worker before it reads its first task, so they hold whatever the query
checks of :mod:`coprod_kg.sparql.safety` miss:

- **seccomp** (libseccomp through ``pyseccomp``): ``socket()`` and ``socketpair()`` fail with
  ``EACCES`` for every address family but ``AF_UNIX`` (the worker's pipe to the API process
  was opened before, and stays usable), and ``io_uring_setup`` fails (io_uring could open
  sockets without the ``socket`` system call). The filter is inherited by every thread the
  engine starts later and cannot be removed.
- **a network namespace** (``unshare(CLONE_NEWNET)``), when the process may create one (root,
  or ``CAP_SYS_ADMIN``): the worker then sees only its own loopback, which is down.
- **memory**: ``RLIMIT_DATA`` (private writable memory: the heap, what a runaway sort grows)
  at ``COPROD_QUERY_MEMORY_MB``; the engine aborts (``SIGABRT``) when an allocation fails, and
  the pool replaces the worker. ``RLIMIT_AS`` would also count the store's read-only file
  mappings. Core dumps are switched off so such an abort writes nothing.

A process without seccomp and without a network namespace has no barrier:
:func:`install_barriers` then raises :class:`SandboxUnavailable`, and the server refuses to
start unless ``COPROD_ALLOW_UNSANDBOXED_QUERIES=1``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import socket

from coprod_kg.errors import CoprodError

_CLONE_NEWNET = 0x40000000


class SandboxUnavailable(CoprodError):
    """No network barrier could be installed in a query worker."""

    status = 503


def _seccomp() -> str | None:
    """Install the socket filter; the reason it could not be, or ``None`` on success."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError, RuntimeError) as exc:  # the package or libseccomp.so.2 missing
        return f"libseccomp is not available ({exc})"
    refuse = seccomp.ERRNO(errno.EACCES)
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for call in ("socket", "socketpair"):
            rules.add_rule(refuse, call, seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        rules.add_rule(refuse, "io_uring_setup")
        rules.load()
    except (OSError, RuntimeError, ValueError) as exc:
        return f"the seccomp filter could not be loaded ({exc})"
    return None


def _network_namespace() -> str | None:
    """Move the process into a new, empty network namespace; the reason it failed, or None."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())}"
    return None


def limit_memory(megabytes: int) -> None:
    """Cap the process's private writable memory at ``megabytes`` (0: no cap), no core dumps."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def install_barriers(allow_unsandboxed: bool = False) -> tuple[str, ...]:
    """Take the network away from this process; the names of the barriers now in place.

    Raises :class:`SandboxUnavailable` when none could be installed, unless
    ``allow_unsandboxed``.
    """
    installed: list[str] = []
    reasons: list[str] = []
    for name, install in (("network namespace", _network_namespace), ("seccomp", _seccomp)):
        reason = install()
        if reason is None:
            installed.append(name)
        else:
            reasons.append(reason)
    if not installed and not allow_unsandboxed:
        raise SandboxUnavailable(
            "no network barrier can be installed in the query workers ("
            + "; ".join(reasons) + "); install libseccomp2 and the pyseccomp package, or set "
            "COPROD_ALLOW_UNSANDBOXED_QUERIES=1 to serve without one")
    return tuple(installed)


def network_is_closed() -> bool:
    """Whether this process can no longer open an internet socket (a self-check)."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return True
    probe.close()
    return False
