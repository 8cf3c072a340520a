"""Joining a Ray cluster: ``ray.init(address=...)`` joins a running cluster (an empty address
starts a local instance; a session already open in the process is used as it is).

Ray is imported inside the functions: it is heavy, and only the ``ray`` engine needs it.
"""

from __future__ import annotations

import socket

from orpr.errors import InputError


def connect(address: str) -> bool:
    """Join the Ray cluster at ``address`` (``auto``: the one started on this machine with
    ``ray start``, or ``RAY_ADDRESS``; empty: start a new local instance); True if this call
    started the session (the caller then shuts it down).

    Raises:
        InputError: nothing answers at ``address``, or it is not a Ray address.
    """
    import ray

    if address and not reachable(address):
        raise InputError(
            "[compute]",
            "no Ray cluster reachable at this address",
            column="compute.address",
            value=address,
        )
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address or "local",
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, ValueError) as err:
        raise InputError(
            "[compute]",
            f"cannot join Ray: {str(err).splitlines()[0]}",
            column="compute.address",
            value=address,
        ) from None
    return True


def reachable(address: str, timeout: float = 5.0) -> bool:
    """Whether a TCP connection opens to ``host:port`` (``ray://`` prefix allowed); ``auto``
    is left to Ray. Ray itself would retry an unreachable address for minutes."""
    if address == "auto":
        return True
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return False
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False
