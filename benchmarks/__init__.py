"""Throughput and quality benchmarks; run all with ``python -m benchmarks``."""


def no_options(doc: str | None, argv: list[str] | None = None) -> None:
    """Parse a benchmark's command line, which takes no options: ``--help`` prints ``doc``.

    Any other argument is refused (exit 2), so a typo never starts a long run.

    Examples:
        >>> no_options("A benchmark.", [])
    """
    import argparse

    argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
                            ).parse_args(argv)

