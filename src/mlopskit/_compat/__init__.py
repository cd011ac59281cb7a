"""Stand-ins for old container libraries that public SageMaker scripts still import.

The local runners put *this folder* (``mlopskit/_compat``) on a job's ``sys.path``, so each
package in it imports under its top-level name: a script's
``from sagemaker_containers.beta.framework import encoders, worker`` finds
``_compat/sagemaker_containers`` instead of the real ``sagemaker-containers`` distribution,
which no longer installs on current Python versions.

The packages here import only the standard library (heavier libraries such as numpy are
imported inside the functions that need them) and nothing from mlopskit, and use relative
imports among their own modules, so they work both as ``sagemaker_containers`` inside a job and
as ``mlopskit._compat.sagemaker_containers`` in mlopskit's type checks and tests.
"""
