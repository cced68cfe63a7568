"""`python -m elacsym_sql.cli`: the `elacsym` command."""

import sys

from . import main

sys.exit(main())
