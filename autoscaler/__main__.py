"""``python -m autoscaler`` is the same as the ``energy-autoscaler`` command."""

from autoscaler.cli import main

raise SystemExit(main())
