"""Address rules of guardrail_notify: which resolved addresses the action may connect to."""

from __future__ import annotations

import ipaddress
from typing import Optional

import pytest
from guardrail.notify.addresses import parse_allowed_addresses, refused_class, screen


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
        ("192.168.1.1", "private"), ("fd00::1", "private"), ("fc00::1", "private"), ("fec0::1", "private"),
        ("100.64.0.1", "shared (carrier-grade NAT)"), ("100.100.100.200", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"),
        ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"), ("2001:db8::1", "reserved"), ("2001:0:4136:e378::1", "reserved"),
        # IPv4 carried in IPv6 is judged as the IPv4 address.
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"), ("2002:7f00:1::1", "loopback"), ("::127.0.0.1", "reserved"),
        # Public unicast.
        ("8.8.8.8", None), ("172.32.0.1", None), ("100.128.0.1", None), ("52.96.0.1", None),
        ("2606:4700::1111", None), ("::ffff:8.8.8.8", None), ("64:ff9b::808:808", None),
    ],
)
def test_classes(address: str, name: Optional[str]) -> None:
    assert refused_class(ipaddress.ip_address(address)) == name


def test_screen_keeps_public_and_listed_addresses_in_order() -> None:
    kept, refused = screen(["52.96.0.1", "127.0.0.1", "10.0.0.8", "::1", "2606:4700::1"], ("10.0.0.8",))
    assert kept == ("52.96.0.1", "10.0.0.8", "2606:4700::1")
    assert refused == ("127.0.0.1 loopback", "::1 loopback")


def test_listing_an_ipv4_address_covers_its_mapped_form() -> None:
    assert screen(["::ffff:127.0.0.1"], ("127.0.0.1",))[0] == ("::ffff:127.0.0.1",)
    assert screen(["::ffff:127.0.0.2"], ("127.0.0.1",))[0] == ()


def test_scoped_and_unreadable_answers() -> None:
    assert screen(["fe80::1%eth0", "not-an-address"], ()) == ((), ("fe80::1 link-local", "not-an-address unreadable"))


def test_parse_allowed_addresses() -> None:
    assert parse_allowed_addresses(" 127.0.0.1, ::1 ,,10.0.0.8, 127.0.0.1") == ("127.0.0.1", "::1", "10.0.0.8")
    assert parse_allowed_addresses("::ffff:10.0.0.8") == ("10.0.0.8",)
    assert parse_allowed_addresses("") == ()


@pytest.mark.parametrize(("raw", "words"), [("10.0.0.0/8", "a network"), ("soar.internal", "not an IP address"),
                                             ("127.1", "not an IP address"), ("１２７.0.0.1", "not an IP address")])
def test_parse_allowed_addresses_refuses(raw: str, words: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_allowed_addresses(raw)
    assert words in str(err.value)
