"""Build tooling for make and CI only (never imported by the notebooks or by helpers/): notebook execution,
validation, the repository-URL sync and random weight files for tests and benchmarks."""
