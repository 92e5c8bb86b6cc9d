"""``ilms``: the command line, a thin shell over ``exchange.services`` (as the web app is)."""

from __future__ import annotations

import logging
import sys

import click

from exchange.errors import IlmsError
from ilms.convert import convert
from ilms.load import load
from ilms.push import push
from ilms.serve import serve
from ilms.structures import structures
from ilms.template import template
from ilms.tokens import tokens
from ilms.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.version_option(package_name="ilms-exchange")
def cli(verbose: bool) -> None:
    """ILMS Exchange: SDMX data exchange for the ILO International Labour Migration Statistics."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


cli.add_command(structures)
cli.add_command(serve)
cli.add_command(convert)
cli.add_command(template)
cli.add_command(validate)
cli.add_command(load)
cli.add_command(tokens)
cli.add_command(push)


def main() -> None:
    """Entry point: known errors become one clear line on stderr and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except IlmsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
