"""The worker-side reporter, imported by training scripts. Light: prometheus-client and,
optionally, pynvml; never torch, never another autoscaler layer."""
