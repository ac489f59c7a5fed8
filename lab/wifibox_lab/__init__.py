"""wifibox lab: simulated FreeBSD laptops on Linux namespaces, reached over real SSH."""
