"""The ``pkgym`` subcommands, one module per family; :mod:`pkgym.cli` assembles them."""
