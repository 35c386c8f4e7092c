"""The `pennyworth` command line: tables, keys, usage and the local server."""
