"""``python -m node [config-file] [--directive value ...]``: run one rcsim node process."""

import sys

from node.app import main

sys.exit(main())
