"""Storage: the store protocols, the load manifest, the embedded and remote back ends."""
