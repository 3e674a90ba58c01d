"""Addresses whose country the shipped database (the `iptocc` package: the
Regional Internet Registries' delegated statistics) is sure to give, one
per country, for tests of the country lookup and of anything built on it.

Each is a well-known service's address in a block registered for years to
an organisation in that country -- registrations like these do not move
between package releases, unlike the ever-changing small allocations:

- US 8.8.8.8: Google Public DNS, registered with ARIN in the US.
- DE 193.99.144.80: heise online (Hannover), a RIPE NCC block registered in DE.
- GB 212.58.244.22: the BBC, a RIPE NCC block registered in GB.
- JP 1.0.16.1: APNIC's 1.0.16.0/20, delegated to Japan (iptocc's own example).
- AU 1.1.1.1: APNIC Labs' 1.1.1.0/24 (Brisbane), registered in AU even though
  Cloudflare answers on it worldwide: a registry says where a block is
  registered, not where its user sits.
- FR 80.67.169.12: FDN's public resolver, a RIPE NCC block registered in FR.
- BR 200.160.0.8: NIC.br, a LACNIC block registered in BR.
- US (IPv6) 2001:4860:4860::8888: Google Public DNS over IPv6.
- DE (IPv6) 2003::1: Deutsche Telekom's 2003::/19.

Documentation addresses (RFC 5737 / RFC 3849) and private ones have no
country: they are the "unknown" examples.
"""

COUNTRY_ADDRESSES = {
    "8.8.8.8": "US",
    "193.99.144.80": "DE",
    "212.58.244.22": "GB",
    "1.0.16.1": "JP",
    "1.1.1.1": "AU",
    "80.67.169.12": "FR",
    "200.160.0.8": "BR",
    "2001:4860:4860::8888": "US",
    "2003::1": "DE",
}
UNKNOWN_ADDRESSES = [
    "203.0.113.9",  # TEST-NET-3 (RFC 5737)
    "198.51.100.23",  # TEST-NET-2
    "192.0.2.1",  # TEST-NET-1
    "2001:db8::1",  # IPv6 documentation prefix (RFC 3849)
    "10.0.0.5",  # private
    "127.0.0.1",  # loopback
]
# a German visitor and an American one, as other tests name them
GERMANY = "193.99.144.80"
USA = "8.8.8.8"
