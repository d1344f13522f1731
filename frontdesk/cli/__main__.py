"""`python -m frontdesk.cli ...`: the same as the `frontdesk` command."""

from frontdesk.cli import main

raise SystemExit(main())
