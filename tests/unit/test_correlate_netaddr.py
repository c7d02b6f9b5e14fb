"""netaddr: addresses compared as addresses; the contract's internal ranges, not ipaddress's."""

from __future__ import annotations

import pytest
from guardrail.correlate.netaddr import is_internal, is_public, normalize_ip


@pytest.mark.parametrize("text", [
    "2001:db8:1a::3c", "2001:0db8:001a:0000:0000:0000:0000:003c", "2001:0DB8:001A:0000:0000:0000:0000:003C",
    "2001:DB8:1A::3C", "2001:db8:1a:0:0:0:0:3c", "2001:0DB8:1A::003C", " 2001:db8:1a::3c ", "[2001:db8:1a::3c]:443",
])
def test_ipv6_spellings_collapse_to_one_key(text: str) -> None:
    assert normalize_ip(text) == "2001:db8:1a::3c"


@pytest.mark.parametrize("text,expected", [
    ("203.0.113.10", "203.0.113.10"),
    ("010.001.002.003", "10.1.2.3"),  # leading zeros are decimal, never octal
    ("::ffff:10.1.2.3", "10.1.2.3"),  # IPv4-mapped
    ("198.51.100.7:52311", "198.51.100.7"),
    ("fe80::1%eth0", "fe80::1"),
])
def test_ipv4_forms(text: str, expected: str) -> None:
    assert normalize_ip(text) == expected


@pytest.mark.parametrize("text", ["", "private", "gce-internal-ip", "1.2.3", "300.1.1.1", "example.com", "::g"])
def test_not_addresses(text: str) -> None:
    assert normalize_ip(text) is None


@pytest.mark.parametrize("ip", ["10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1",
                                "127.0.0.1", "169.254.1.1", "fc00::1", "fd12:3456::1", "fe80::1", "::1"])
def test_internal_ranges(ip: str) -> None:
    assert is_internal(ip)


@pytest.mark.parametrize("ip", ["203.0.113.10", "198.51.100.1", "192.0.2.5", "2001:db8::1", "172.32.0.1",
                                "100.128.0.1", "8.8.8.8", "0.0.0.0", "240.0.0.1"])
def test_documentation_and_reserved_ranges_count_as_public(ip: str) -> None:
    assert is_public(ip)


@pytest.mark.parametrize("text", [
    "١٠.0.0.1", "10.0.0.٥", "１０．０．０．１", "１０.０.０.１", "10.0.0.²", "10.0.0.1:٨٠", "[::١]:443",
    "２００１:db8::1", "10.0.0.1\u00a0",
])
def test_only_ascii_text_is_an_address(text: str) -> None:
    # int() and str.isdigit() read other scripts' digits; "10.0.0.²" used to raise instead
    assert normalize_ip(text) is None
