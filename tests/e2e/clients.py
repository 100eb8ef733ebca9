"""Clients at addresses of their own: the local stack, like API Gateway, tells clients apart by
the address their connection comes from (`requestContext.identity.sourceIp`), so a test that
needs two clients binds their connections to two loopback addresses (127.0.0.0/8 is all
loopback on Linux).

    attacker, holder = client("127.0.0.2"), client("127.0.0.3")
    attacker.get(stack.url("/verify/NOSUCHCODE"), timeout=5)
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter


class SourceAddressAdapter(HTTPAdapter):
    """Opens every connection from `source_ip` (any free port)."""

    __attrs__: ClassVar[list[str]] = [*HTTPAdapter.__attrs__, "source_address"]  # kept when pickled

    def __init__(self, source_ip: str, **kwargs: Any) -> None:
        self.source_address = (str(ipaddress.ip_address(source_ip)), 0)
        super().__init__(**kwargs)  # builds the pool manager, so the address is set first

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, source_address=self.source_address, **pool_kwargs)


def client(source_ip: str) -> requests.Session:
    """A session whose connections (kept alive, as a browser's) all come from `source_ip`.
    It ignores proxy settings of the environment: through a proxy the stack would see the
    proxy's address."""
    session = requests.Session()
    session.trust_env = False
    adapter = SourceAddressAdapter(source_ip)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
