"""The only code that talks to the Kubernetes API: watch, /scale, annotations, Events, Lease."""
