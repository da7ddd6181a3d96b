"""Click options shared by the ``rcsim`` subcommand modules.

They live apart from ``cluster.cli`` so that ``cluster.cli_ops`` and ``cluster.cli_reshard``
can use them without importing the module that registers them (which would be a cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def run_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--dir``: the run directory of ``rcsim up`` (passed to the command as ``run_dir``)."""
    return click.option(
        "--dir",
        "run_dir",
        default=".rcsim",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Run directory: one sub-directory (nodes.conf, log, pid file) per node.",
    )(f)
