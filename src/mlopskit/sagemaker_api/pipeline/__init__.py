"""SageMaker's pipeline definition language (Version 2020-12-01), read as JSON.

:mod:`.parameters` (parameter types and execution variables), :mod:`.checks` (everything
checked on a compiled definition before it runs), :mod:`.resolve` (what expressions and
conditions mean in an execution), :mod:`.records` (what an engine reports about executions
and steps) and :mod:`.runnable` (the steps the local backend can never run). Both pipeline
engines and the public :mod:`mlopskit.pipeline` use them; nothing here knows either.
"""
