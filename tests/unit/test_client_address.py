"""Which hop of X-Forwarded-For is the client (webapp/access/addresses.py)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from runtime.settings import SettingsError, load_settings
from webapp.access.addresses import resolve_client

LOOPBACK = (ip_network("127.0.0.1/32"), ip_network("::1/128"))
BEHIND_TWO = (*LOOPBACK, ip_network("10.0.0.0/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # The proxy's own address was the throttle's key: every stranger shared it.
        ("127.0.0.1", ["203.0.113.9"], LOOPBACK, "203.0.113.9"),
        # A client's own X-Forwarded-For is kept by nginx on the left: never believed.
        ("127.0.0.1", ["198.51.100.1, 203.0.113.9"], LOOPBACK, "203.0.113.9"),
        # Straight from the internet: the header is the client's word, not a proxy's.
        ("203.0.113.9", ["127.0.0.1"], LOOPBACK, "203.0.113.9"),
        ("203.0.113.9", ["198.51.100.1"], (), "203.0.113.9"),
        ("127.0.0.1", ["203.0.113.9"], (), "127.0.0.1"),
        # Two trusted hops (a load balancer, then nginx), read right to left.
        ("127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.1.2.3"], BEHIND_TWO, "203.0.113.9"),
        ("127.0.0.1", ["6.6.6.6", "203.0.113.9, 10.1.2.3"], BEHIND_TWO, "203.0.113.9"),
        # No header, or one that names no address: the last trusted hop.
        ("127.0.0.1", [], LOOPBACK, "127.0.0.1"),
        ("127.0.0.1", ["not-an-address"], LOOPBACK, "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9, 127.0.0.1"], LOOPBACK, "203.0.113.9"),
        ("::ffff:127.0.0.1", ["2001:db8::5"], LOOPBACK, "2001:db8::5"),
        (None, ["203.0.113.9"], LOOPBACK, "unknown"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str | None, forwarded: list[str], trusted: tuple, client: str
) -> None:
    assert resolve_client(peer, forwarded, trusted) == client


def test_trusted_proxies_are_a_setting_with_loopback_by_default(tmp_path: object) -> None:
    base = {"PULT_DATA_DIR": f"{tmp_path}/var"}
    default = load_settings(base, env_file=None)
    chosen = load_settings({**base, "PULT_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"}, env_file=None)
    nobody = load_settings({**base, "PULT_TRUSTED_PROXIES": "none"}, env_file=None)

    assert default.trusted_proxies == LOOPBACK
    assert chosen.trusted_proxies == (ip_network("10.0.0.0/8"), ip_network("192.0.2.7/32"))
    assert nobody.trusted_proxies == ()
    with pytest.raises(SettingsError, match="PULT_TRUSTED_PROXIES"):
        load_settings({**base, "PULT_TRUSTED_PROXIES": "10.0.0.0/8,office"}, env_file=None)
