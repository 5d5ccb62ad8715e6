"""``python -m isaac_rerun``: the ``isaac-rerun`` command line (:mod:`isaac_rerun.cli`)."""

from isaac_rerun.cli import main

raise SystemExit(main())
