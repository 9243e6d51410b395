"""Composition roots and loops: the only place that reads clocks. Local mode and the operator
each wire settings -> sources, actuators -> decision engine here."""
