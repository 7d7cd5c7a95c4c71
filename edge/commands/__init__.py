"""CLI subcommands, one module each (see ``edge.cli.COMMAND_MODULES``)."""
