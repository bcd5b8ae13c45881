"""What the pages' rate limits count: per client network, and only the attempts that did not get through.

A limit with `deduct_when=counts` charges an attempt only when it did not move the person on: a step that went
through redirects onwards (302/303), or calls moved_on() when it answers with a page of its own (the last step
of an activation, a registration that made the account).
"""

from __future__ import annotations

import ipaddress

from flask import Response, g, request


def client_network() -> str:
    """Per-IP throttle key; an IPv6 client owns a whole /64, so it counts as one."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def moved_on() -> None:
    """This request got the person through its step: its limits do not charge it."""
    g.throttle_moved_on = True


def counts(response: Response) -> bool:
    """Does this attempt count towards the limits? Only when it did not move the person on."""
    return not (g.get("throttle_moved_on") or response.status_code in (302, 303))
