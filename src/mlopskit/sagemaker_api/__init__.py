"""SageMaker's own API shapes and file formats, knowing no backend and no public object.

Both backends and the public objects import from here; nothing here imports them.
"""
