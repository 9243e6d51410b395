"""Things that change a job's degree: ``current()`` and ``scale_to(n)``. Kubernetes /scale,
local torchrun agents, and dry-run (records, never acts)."""
