"""The ``musiclatent`` command line: ``main`` parses, one module per command group registers its subcommands."""
