"""Hosts as a browser reads them (shortener.hosts), and which are this
installation. tests/e2e/test_hosts_browser.py checks the same table against
Chromium's own URL parser."""

import ipaddress
import socket

import pytest

from shortener import hosts
from shortener.hosts import is_this_installation, normalise_host, routed_path

# (as written in a URL, what a browser connects to); the left column is
# what WHATWG's host parser accepts, the right its canonical form (without
# brackets or trailing dot)
SPELLINGS = {
    "decimal integer": ("2130706433", "127.0.0.1"),
    "hex integer": ("0x7f000001", "127.0.0.1"),
    "hex integer, upper case": ("0X7F000001", "127.0.0.1"),
    "shortened": ("127.1", "127.0.0.1"),
    "octal first part": ("0177.0.0.1", "127.0.0.1"),
    "hex first part": ("0x7f.0.0.1", "127.0.0.1"),
    "hex then a 24-bit rest": ("0x7f.1", "127.0.0.1"),
    "octal then a 24-bit rest": ("0177.1", "127.0.0.1"),
    "three parts": ("127.0.1", "127.0.0.1"),
    "trailing dot": ("127.0.0.1.", "127.0.0.1"),
    "zero": ("0", "0.0.0.0"),
    "empty hex": ("0x", "0.0.0.0"),
    "double zero": ("00", "0.0.0.0"),
    "largest": ("0xffffffff", "255.255.255.255"),
    "last part carries two bytes": ("1.256", "1.0.1.0"),
    "name in upper case": ("LOCALHOST", "localhost"),
    "name with trailing dot": ("localhost.", "localhost"),
    "mixed case with dot": ("Go.Example.COM.", "go.example.com"),
    "full-width digits and ideographic dots": ("１２７。０。０。１", "127.0.0.1"),
    "full-width letters": ("ＬＯＣＡＬＨＯＳＴ", "localhost"),
    "IPv6 loopback": ("[::1]", "::1"),
    "IPv6 loopback, long": ("[0:0:0:0:0:0:0:1]", "::1"),
    "IPv4-mapped IPv6": ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    "IPv4-mapped IPv6, hex": ("[::FFFF:7F00:1]", "::ffff:7f00:1"),
    "a hex-looking label that is not hex is a name": ("example.0x1g", "example.0x1g"),
    "digits inside a label": ("a.b.3com", "a.b.3com"),
    "international name": ("café.example", "xn--caf-dma.example"),
}

# hosts a browser refuses outright (the URL does not parse)
NOT_HOSTS = {
    "five parts": "1.2.3.4.5",
    "a byte over 255": "256.0.0.1",
    "last part too big for what is left": "1.2.65536",
    "over 32 bits": "4294967296",
    "not octal": "08",
    "a name ending in a number": "shop.09",
    "a name ending in hex": "shop.0x10",
    "IPv4 in brackets": "[1.2.3.4]",
    "an IPv6 zone id": "[fe80::1%eth0]",
    "bad IPv6": "[::1::2]",
    "empty": "",
}


@pytest.mark.parametrize(("written", "canonical"), SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_host_is_normalised_as_a_browser_reads_it(written, canonical):
    assert normalise_host(written) == canonical


@pytest.mark.parametrize("written", NOT_HOSTS.values(), ids=NOT_HOSTS.keys())
def test_a_host_a_browser_refuses_is_refused(written):
    with pytest.raises(ValueError):
        normalise_host(written)


def test_names_with_empty_labels_are_refused_though_a_browser_would_try_them():
    # Chromium accepts "a..b" as a name (its DNS lookup then fails); no
    # destination needs one
    for written in ("a..b", "1.2.3.4.."):
        with pytest.raises(ValueError):
            normalise_host(written)


IPV4_FORMS = ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "0x7f.0.0.1", "0", "00",
              "0xffffffff", "1.256", "0177.1", "10.0x10.010.1", "127.0.0.1"]  # fmt: skip


@pytest.mark.parametrize("written", IPV4_FORMS)
def test_ipv4_forms_agree_with_the_c_librarys_inet_aton(written):
    # glibc reads these forms as WHATWG does; it differs only on the empty
    # hex "0x" and a trailing dot, which it refuses
    expected = socket.inet_ntoa(socket.inet_aton(written))
    assert normalise_host(written) == expected


def test_every_ipv4_spelling_of_loopback_is_this_installation():
    for written, canonical in SPELLINGS.values():
        if canonical in ("127.0.0.1", "0.0.0.0", "::1", "::ffff:7f00:1", "localhost"):
            assert is_this_installation(normalise_host(written)), written


INSTALLATION = {
    "a loopback address": ("127.0.0.1", True),
    "anywhere in 127/8": ("127.8.9.10", True),
    "the any address": ("0.0.0.0", True),
    "IPv6 loopback": ("::1", True),
    "IPv6 any": ("::", True),
    "IPv4-mapped loopback": ("::ffff:7f00:1", True),
    "localhost": ("localhost", True),
    "a .localhost name": ("shop.localhost", True),
    "Debian's ip6-localhost": ("ip6-localhost", True),
    "a host it is named by": ("go.example.test", True),
    "another site": ("shop.example.com", False),
    "a subdomain of our name": ("www.go.example.test", False),
    "a public address": ("93.184.215.14", False),
    "a private address that is not ours": ("10.99.99.99", False),
    "documentation IPv6": ("2001:db8::1", False),
}


@pytest.mark.parametrize(("host", "ours"), INSTALLATION.values(), ids=INSTALLATION.keys())
def test_which_hosts_are_this_installation(host, ours):
    assert is_this_installation(host, ["go.example.test", "[", ""]) is ours


def test_the_machines_own_name_and_its_addresses_are_this_installation():
    name = socket.gethostname()
    assert is_this_installation(normalise_host(name))
    for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM):
        ip = hosts.address_of(info[4][0].split("%")[0])
        assert is_this_installation(str(ip)), ip


def test_an_address_our_named_host_resolves_to_is_this_installation():
    # the machine's name stands in for BASE_URL's host: it resolves here
    name = socket.gethostname()
    resolved = {str(a) for a in hosts.addresses_of(normalise_host(name))}
    assert resolved
    for address in resolved:
        assert is_this_installation(address, [name])


def test_a_named_host_that_does_not_resolve_adds_no_address():
    assert hosts.addresses_of("no-such-host.invalid") == frozenset()
    assert not is_this_installation("93.184.215.14", ["no-such-host.invalid"])


def test_only_the_names_given_to_resolve_are_looked_up():
    # a public request's Host header is a name but is never sent to DNS:
    # each new one a visitor made up would cost a lookup
    hosts.addresses_of.cache_clear()
    named = ["visitor-chosen.example", "go.example.test"]
    assert not is_this_installation("93.184.215.14", named, resolved=["go.example.test"])
    assert hosts.addresses_of.cache_info().currsize == len(hosts.machine_names()) + 1
    assert is_this_installation("visitor-chosen.example", named, resolved=["go.example.test"])


def test_ipv4_mapped_addresses_count_as_the_ipv4_address():
    assert hosts.address_of("::ffff:7f00:1") == ipaddress.IPv4Address("127.0.0.1")
    assert hosts.address_of("example.com") is None


ROUTES = {
    "no path": ("", "/"),
    "root": ("/", "/"),
    "a code": ("/abc", "/abc"),
    "a dot-dot segment": ("/x/../abc", "/abc"),
    "a dot segment": ("/./abc", "/abc"),
    "percent-encoded dots": ("/x/%2E%2e/abc", "/abc"),
    "a percent-encoded single dot": ("/%2e/abc", "/abc"),
    "percent-encoded letters": ("/%61bc", "/abc"),
    "a backslash": ("\\abc", "/abc"),
    "a doubled slash": ("//abc", "/abc"),
    "a trailing slash stays": ("/abc/", "/abc/"),
    "dot-dot past the root": ("/../../abc", "/abc"),
    "dot-dot at the end": ("/abc/..", "/"),
    "two segments": ("/a/b", "/a/b"),
}


@pytest.mark.parametrize(("path", "routed"), ROUTES.values(), ids=ROUTES.keys())
def test_the_path_our_server_routes_for_a_url_path(path, routed):
    assert routed_path(path) == routed
