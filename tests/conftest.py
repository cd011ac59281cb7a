"""Our own tests use the same fixtures users get from ``mlopskit.testing``."""

pytest_plugins = ["mlopskit.testing", "pytester"]
