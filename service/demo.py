"""Demo region shaped like the case study (``flask --app service demo-data``)."""
from __future__ import annotations

import click


@click.command("demo-data")
@click.option("--farmers", default=1496, show_default=True, help="Number of farmers to create.")
def demo_data_command(farmers: int):
    """Create a demo region (not implemented yet)."""
    raise click.ClickException("not implemented yet")
