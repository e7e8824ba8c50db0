"""facegate's benchmarks and accuracy evaluation (never deployed): `make bench`."""
