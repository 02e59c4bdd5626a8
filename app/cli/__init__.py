"""The `sweep` command line, one module per area; `main` assembles them."""
