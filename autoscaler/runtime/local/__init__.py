"""Local mode: one torchrun job on this machine, and the sweep that measures every degree.

Imports nothing from :mod:`autoscaler.runtime.operator` (an import-linter independence contract):
the two composition roots share only the layers below them. Modules import their heavy parts
lazily and nothing is imported here, so ``energy-autoscaler --help`` stays fast.

- ``run``: the loop (``LocalRun``): scrape -> window -> decide -> resize through torchrun;
- ``settings``: the run's settings; ``static_power``: the node's static draw added to windows;
- ``report`` / ``summary`` / ``view`` / ``plot``: the live table and what a run leaves on disk;
- ``sweep`` / ``sweep_table`` / ``sweep_plot`` / ``scaling``: run each degree once and tabulate.
"""
