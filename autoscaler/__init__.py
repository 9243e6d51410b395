"""energy-autoscaler: keeps elastic PyTorch training jobs at their energy-optimal degree.

Layers (each may import only the ones below it; checked by import-linter):

    cli / runtime   composition root: settings, clocks and loops live here only
    kube            the only code that talks to the Kubernetes API
    actuators       scale_to(n) / current(): Kubernetes /scale, local torchrun, dry-run
    sources         readings: worker reporter, NVML, RAPL, Prometheus (DCGM, Kepler)
    decision        PURE: models, fitting, objectives, constraints, policy (time passed in)

``sim`` (the what-if simulator) and ``worker`` (the reporter imported by training scripts)
sit beside the stack: ``sim`` drives ``decision``; ``worker`` depends on nothing above it.
"""

__version__ = "0.1.0"
