"""Our own tests use the same fixtures users get from ``mlopskit.testing``."""

pytest_plugins = ["mlopskit.testing", "pytester"]

# Training scripts run inside jobs, never as test modules (--doctest-modules would import them).
collect_ignore = ["scripts", "fidelity/scripts", "data/make_sdk_v3_definition.py"]
