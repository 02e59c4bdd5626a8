"""The demo marketplace: a deterministic Chinese B2C site with ground truth, for demos, tests and benchmarks.

Beside the house: only the composition root (`sweep demo`, `sweep demo-mall`), tests and benchmarks use it.
"""
