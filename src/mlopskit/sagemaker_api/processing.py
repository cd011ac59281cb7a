"""CreateProcessingJob both ways: a spec to the request (``create_processing_job_request``,
shaped as the SageMaker SDK sends it, checked against botocore's validator in tests) and a
resolved request back to a spec (``processing_spec_from_request``, what the local pipeline
engine runs; its docstring lists what it reads, refuses and ignores, and the rules shared
by every reader are in :mod:`._reading`). ``python_options`` is the rule for the commands
the local backend runs a processing script with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import CapabilityError, ValidationError
from ..specs.processing import CODE_DIR, CODE_INPUT_NAME, ProcessingJobSpec
from . import _reading as _r
from ._reading import S3_PREFIX_ONLY, Locator

__all__ = ["create_processing_job_request", "processing_spec_from_request", "python_options"]

_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
# Interpreter options that take the next item as their value.
_OPTIONS_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})


def create_processing_job_request(spec: ProcessingJobSpec, *, role_arn: str,
                                  image_uri: str | None = None) -> dict[str, Any]:
    """The ``CreateProcessingJob`` request for ``spec``, shaped as the SageMaker SDK sends it.

    The script is the input ``code`` (last, at ``/opt/ml/processing/input/code``);
    ``ContainerEntrypoint`` is the command plus the script's container path, and
    ``ContainerArguments`` the arguments, verbatim. ``image_uri`` overrides the spec's own
    (the AWS backend passes the image it resolved from ``framework``).

    Example:
        >>> from mlopskit.specs import build
        >>> spec = build(ProcessingJobSpec, name="prep-1", code_uri="s3://bkt/prep-1/p.py",
        ...              script="p.py", instance_type="ml.m5.large", image_uri="img:1",
        ...              arguments=("--rows", "10"))
        >>> request = create_processing_job_request(spec, role_arn="arn:aws:iam::1:role/r")
        >>> request["AppSpecification"]["ContainerEntrypoint"]
        ['python3', '/opt/ml/processing/input/code/p.py']
        >>> request["AppSpecification"]["ContainerArguments"]
        ['--rows', '10']
    """
    image = image_uri or spec.image_uri
    if not image:
        raise ValueError("create_processing_job_request: the spec has no image_uri; pass the "
                         "resolved image as image_uri=")
    app: dict[str, Any] = {"ImageUri": image, "ContainerEntrypoint": spec.entrypoint}
    if spec.arguments:
        app["ContainerArguments"] = list(spec.arguments)
    inputs: list[dict[str, Any]] = [
        _input_entry(i.name, i.s3_uri, i.local_path, i.distribution, i.s3_data_type,
                     i.input_mode)
        for i in spec.inputs]
    inputs.append(_input_entry(CODE_INPUT_NAME, spec.code_uri, CODE_DIR,
                               "FullyReplicated", "S3Prefix", "File"))
    request: dict[str, Any] = {
        "ProcessingJobName": spec.name,
        "ProcessingResources": {"ClusterConfig": {
            "InstanceType": spec.instance_type, "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": spec.volume_size_gb}},
        "AppSpecification": app,
        "RoleArn": role_arn,
        "ProcessingInputs": inputs,
    }
    if spec.outputs:
        request["ProcessingOutputConfig"] = {"Outputs": [
            {"OutputName": o.name, "AppManaged": False,
             "S3Output": {"S3Uri": o.s3_uri, "LocalPath": o.local_path,
                          "S3UploadMode": o.upload_mode}}
            for o in spec.outputs]}
    if spec.max_runtime is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": spec.max_runtime}
    if spec.environment:
        request["Environment"] = dict(spec.environment)
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
    return request


def _input_entry(name: str, uri: str, local_path: str, distribution: str,
                 data_type: str, mode: str) -> dict[str, Any]:
    return {"InputName": name, "AppManaged": False,
            "S3Input": {"S3Uri": uri, "LocalPath": local_path, "S3DataType": data_type,
                        "S3InputMode": mode, "S3DataDistributionType": distribution,
                        "S3CompressionType": "None"}}


def python_options(command: Sequence[str]) -> list[str]:
    """The interpreter options of a ``python`` command (what follows the program).

    The local backend runs processing scripts with its own Python interpreter, so the
    command must be ``python``, ``python3`` or ``python3.X`` (a path to one is fine),
    optionally followed by interpreter options such as ``-u`` or ``-W ignore``. Anything
    else raises :class:`~mlopskit.errors.CapabilityError`.

    Example:
        >>> python_options(["/usr/bin/python3", "-u", "-W", "ignore"])
        ['-u', '-W', 'ignore']
        >>> python_options(["bash"])
        Traceback (most recent call last):
        ...
        mlopskit.errors.CapabilityError: command ['bash']: ...
    """
    items = list(command)
    if not items or not _PYTHON.match(os.path.basename(items[0])):
        raise CapabilityError(
            f"command {items!r}: the local backend runs processing scripts with Python only "
            "(command python, python3 or python3.X, optionally with interpreter options); "
            "run other commands on the aws backend, in their container")
    options = items[1:]
    index = 0
    while index < len(options):
        item = options[index]
        takes_value = item in _OPTIONS_WITH_VALUE
        runs_other = item in {"-m", "-c", "-", "--"} or (
            item.startswith("-") and not item.startswith("--") and item[1:2] in {"m", "c"})
        if not item.startswith("-") or runs_other:
            raise CapabilityError(
                f"command {items!r}: after the interpreter the local backend accepts only "
                f"interpreter options (such as -u, -B, -W ignore), not {item!r}: the script "
                "itself is what runs")
        index += 2 if takes_value else 1
    if len(options) and options[-1] in _OPTIONS_WITH_VALUE:
        raise CapabilityError(f"command {items!r}: option {options[-1]!r} needs a value")
    return options


# -- reading CreateProcessingJob back: request -> ProcessingJobSpec ------------------------

_PROCESSING_READ = frozenset({
    "ProcessingResources", "AppSpecification", "ProcessingInputs", "ProcessingOutputConfig",
    "StoppingCondition", "Environment", "Tags"})
_PROCESSING_IGNORED = frozenset({"ProcessingJobName", "RoleArn", "NetworkConfig",
                                 "ExperimentConfig"})
_PROCESSING_APP_MANAGED = ("app-managed inputs and outputs are handled by the container's "
                           "own application, which does not run locally; use S3 inputs and "
                           "outputs the job downloads and uploads")
_PROCESSING_INPUT_REFUSED = {
    "DatasetDefinition": "Athena and Redshift dataset definitions are not queried locally; "
                         "run the query first and give its S3 output as an S3Input",
    "AppManaged": _PROCESSING_APP_MANAGED,
}
_PROCESSING_OUTPUT_REFUSED = {
    "FeatureStoreOutput": "Feature Store does not exist locally; write to an S3Output",
    "AppManaged": _PROCESSING_APP_MANAGED,
}
_PROCESSING_CLUSTER_REFUSED = {
    "InstancePreferences": "instance preferences (a list of instance types to pick from) "
                           "are not chosen locally; give InstanceType and InstanceCount",
}
_PROCESSING_PIPE = "Pipe mode streams through a FIFO the local backend does not provide"


def _processing_input(value: Any, path: str) -> tuple[str, dict[str, Any]]:
    """(input name, the ``ProcessingInputSpec`` fields) of one ``ProcessingInputs`` entry."""
    entry = _r.request_object(value, path, read=("InputName", "S3Input"),
                            refused=_PROCESSING_INPUT_REFUSED)
    name = _r.request_text(entry, "InputName", path, required=True)
    assert name is not None
    s3_path = f"{path}.S3Input"
    s3 = _r.request_object(
        entry.get("S3Input"), s3_path, required=True,
        read=("S3Uri", "LocalPath", "S3DataType", "S3InputMode", "S3DataDistributionType",
              "S3CompressionType"))
    _r.request_choice(s3, "S3DataType", s3_path, ("ManifestFile", "S3Prefix"), default=None,
                    local=("S3Prefix",), why=S3_PREFIX_ONLY)
    _r.request_choice(s3, "S3InputMode", s3_path, ("Pipe", "File"), default="File",
                    local=("File",), why=_PROCESSING_PIPE)
    _r.request_choice(s3, "S3CompressionType", s3_path, ("None", "Gzip"), default="None",
                    local=("None",), why="objects are copied as they are, not decompressed")
    distribution = _r.request_choice(s3, "S3DataDistributionType", s3_path,
                                   ("FullyReplicated", "ShardedByS3Key"),
                                   default="FullyReplicated")
    return name, _r.request_compact({
        "name": name, "distribution": distribution,
        "s3_uri": _r.request_text(s3, "S3Uri", s3_path, required=True),
        "local_path": _r.request_text(s3, "LocalPath", s3_path, required=True)})


def _processing_output(value: Any, path: str) -> dict[str, Any]:
    entry = _r.request_object(value, path, read=("OutputName", "S3Output"),
                            refused=_PROCESSING_OUTPUT_REFUSED)
    s3_path = f"{path}.S3Output"
    s3 = _r.request_object(entry.get("S3Output"), s3_path, required=True,
                         read=("S3Uri", "LocalPath", "S3UploadMode"))
    _r.request_choice(s3, "S3UploadMode", s3_path, ("Continuous", "EndOfJob"), default=None,
                    local=("EndOfJob",),
                    why="the local backend uploads outputs once, when the job completes")
    return _r.request_compact({
        "name": _r.request_text(entry, "OutputName", path, required=True),
        "s3_uri": _r.request_text(s3, "S3Uri", s3_path, required=True),
        "local_path": _r.request_text(s3, "LocalPath", s3_path, required=True)})


def processing_entrypoint(app: Mapping[str, Any]) -> tuple[list[str], str]:
    """(command, script inside the code folder) of ``AppSpecification.ContainerEntrypoint``."""
    where = "AppSpecification.ContainerEntrypoint"
    if app.get("ContainerEntrypoint") is None:
        raise CapabilityError(
            f"{where}: missing, so the image's own entry point would run, and the local "
            "backend runs no images; it runs [python3, /opt/ml/processing/input/code/<script>]"
            " as the SDK's ScriptProcessor writes it")
    entrypoint = _r.request_list(app.get("ContainerEntrypoint"), where)
    for index, item in enumerate(entrypoint):
        if not isinstance(item, str):
            raise ValidationError(f"{where}[{index}]: expected a string, got "
                                  f"{_r.request_shown(item)}", field=f"{where}[{index}]")
    script_path = entrypoint[-1] if entrypoint else ""
    if len(entrypoint) < 2 or not script_path.startswith(CODE_DIR + "/"):
        raise CapabilityError(
            f"{where}: {entrypoint!r} does not end with a script in {CODE_DIR}/ run by an "
            "interpreter; the local backend runs processing scripts as [python3, "
            f"{CODE_DIR}/<script>] (a FrameworkProcessor's runproc.sh under "
            "/opt/ml/processing/input/entrypoint is not run locally)")
    try:
        python_options(entrypoint[:-1])
    except CapabilityError as exc:
        raise CapabilityError(f"{where}: {exc}") from None
    return entrypoint[:-1], script_path[len(CODE_DIR) + 1:]


def _processing_locator(positions: list[int]) -> Locator:
    """Where a spec error is in the request; ``positions[i]`` is the request index of the
    spec's input ``i`` (the code input is not among the spec's inputs)."""
    locate = _r.request_locator(
        fields={"name": "ProcessingJobName", "script": "AppSpecification.ContainerEntrypoint",
                "command": "AppSpecification.ContainerEntrypoint",
                "arguments": "AppSpecification.ContainerArguments",
                "image_uri": "AppSpecification.ImageUri",
                "instance_type": "ProcessingResources.ClusterConfig.InstanceType",
                "instance_count": "ProcessingResources.ClusterConfig.InstanceCount",
                "volume_size_gb": "ProcessingResources.ClusterConfig.VolumeSizeInGB",
                "max_runtime": "StoppingCondition.MaxRuntimeInSeconds",
                "environment": "Environment", "tags": "Tags",
                "inputs": "ProcessingInputs", "outputs": "ProcessingOutputConfig.Outputs"},
        items={"inputs": ("ProcessingInputs", {
                   "name": "InputName", "s3_uri": "S3Input.S3Uri",
                   "local_path": "S3Input.LocalPath",
                   "distribution": "S3Input.S3DataDistributionType"}),
               "outputs": ("ProcessingOutputConfig.Outputs", {
                   "name": "OutputName", "s3_uri": "S3Output.S3Uri",
                   "local_path": "S3Output.LocalPath"})},
        whole={"inputs": "ProcessingInputs", "outputs": "ProcessingOutputConfig.Outputs"})

    def translate(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
        if len(loc) >= 2 and loc[0] == "inputs" and isinstance(loc[1], int) \
                and loc[1] < len(positions):
            loc = ("inputs", positions[loc[1]], *loc[2:])
        return locate(loc, message)

    return translate


def processing_spec_from_request(request: Mapping[str, Any], *,
                                 name: str) -> ProcessingJobSpec:
    """The :class:`~mlopskit.specs.processing.ProcessingJobSpec` a resolved
    ``CreateProcessingJob`` asks for.

    ``name`` names the job (the request's ``ProcessingJobName`` is ignored). The script is
    the input named ``code`` at ``/opt/ml/processing/input/code``, and
    ``AppSpecification.ContainerEntrypoint`` must be a Python interpreter (with options, if
    any) followed by that script, as the SDK's ``ScriptProcessor`` (and ``SKLearnProcessor``)
    writes it. Read: ``ProcessingResources.ClusterConfig`` (``InstanceType``,
    ``InstanceCount``, ``VolumeSizeInGB``), ``AppSpecification`` (``ImageUri``,
    ``ContainerEntrypoint``, ``ContainerArguments``), ``ProcessingInputs[].S3Input``,
    ``ProcessingOutputConfig.Outputs[].S3Output``, ``StoppingCondition``, ``Environment``,
    ``Tags``. Refused (CapabilityError): no entry point, an entry point that is not Python
    running a script in the code folder (``bash``, a FrameworkProcessor's ``runproc.sh``),
    no ``code`` input or one elsewhere than ``/opt/ml/processing/input/code``,
    ``DatasetDefinition`` inputs, ``FeatureStoreOutput``, ``AppManaged`` true, ``Pipe``
    input mode, ``ManifestFile`` data, ``Gzip`` compression, ``Continuous`` upload mode,
    ``InstancePreferences``. Ignored: ``ProcessingJobName``, ``RoleArn``, ``NetworkConfig``,
    ``ExperimentConfig``, ``ProcessingOutputConfig.KmsKeyId``,
    ``ClusterConfig.VolumeKmsKeyId``, ``SelectedInstanceType``, ``SelectedInstanceCount``.
    Not recoverable: ``framework``/``framework_version`` (a request holds only the image).

    Example:
        >>> spec = processing_spec_from_request({
        ...     "ProcessingResources": {"ClusterConfig": {
        ...         "InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
        ...     "AppSpecification": {"ImageUri": "img:1", "ContainerEntrypoint": [
        ...         "python3", "/opt/ml/processing/input/code/prep.py"]},
        ...     "ProcessingInputs": [{"InputName": "code", "S3Input": {
        ...         "S3Uri": "s3://bkt/code/prep.py", "LocalPath": "/opt/ml/processing/input/code",
        ...         "S3DataType": "S3Prefix", "S3InputMode": "File"}}]}, name="prep-1")
        >>> spec.script, spec.command, spec.code_uri
        ('prep.py', ('python3',), 's3://bkt/code/prep.py')
    """
    top = _r.request_object(request, "", read=_PROCESSING_READ, ignored=_PROCESSING_IGNORED)
    resources = _r.request_object(top.get("ProcessingResources"), "ProcessingResources",
                                read=("ClusterConfig",), required=True)
    cluster_path = "ProcessingResources.ClusterConfig"
    cluster = _r.request_object(
        resources.get("ClusterConfig"), cluster_path, required=True,
        read=("InstanceType", "InstanceCount", "VolumeSizeInGB"),
        ignored=("VolumeKmsKeyId", "SelectedInstanceType", "SelectedInstanceCount"),
        refused=_PROCESSING_CLUSTER_REFUSED)
    app = _r.request_object(top.get("AppSpecification"), "AppSpecification", required=True,
                          read=("ImageUri", "ContainerEntrypoint", "ContainerArguments"))
    command, script = processing_entrypoint(app)
    arguments = _r.request_list(app.get("ContainerArguments"),
                              "AppSpecification.ContainerArguments")
    for index, item in enumerate(arguments):
        if not isinstance(item, str):
            where = f"AppSpecification.ContainerArguments[{index}]"
            raise ValidationError(f"{where}: expected a string, got {_r.request_shown(item)}",
                                  field=where)
    code: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] = []
    positions: list[int] = []
    for index, item in enumerate(_r.request_list(top.get("ProcessingInputs"),
                                               "ProcessingInputs")):
        path = _r.request_path("ProcessingInputs", index)
        input_name, fields = _processing_input(item, path)
        if input_name != CODE_INPUT_NAME:
            inputs.append(fields)
            positions.append(index)
            continue
        if fields.get("local_path", "").rstrip("/") != CODE_DIR:
            raise CapabilityError(f"{path}.S3Input.LocalPath: the input 'code' must be at "
                                  f"{CODE_DIR} (got {fields.get('local_path')!r}), where the "
                                  "entry point's script is")
        code = fields
    if code is None:
        raise CapabilityError(f"ProcessingInputs: no input named {CODE_INPUT_NAME!r}; the "
                              f"local backend runs the script that input puts in {CODE_DIR}")
    config = _r.request_object(top.get("ProcessingOutputConfig"), "ProcessingOutputConfig",
                             read=("Outputs",), ignored=("KmsKeyId",))
    outputs = [_processing_output(item, _r.request_path("ProcessingOutputConfig.Outputs", index))
               for index, item in enumerate(_r.request_list(
                   config.get("Outputs"), "ProcessingOutputConfig.Outputs"))]
    stopping = _r.request_object(top.get("StoppingCondition"), "StoppingCondition",
                               read=("MaxRuntimeInSeconds",))
    data = _r.request_compact({
        "name": name, "code_uri": code.get("s3_uri"), "script": script,
        "command": tuple(command), "arguments": tuple(arguments),
        "image_uri": _r.request_text(app, "ImageUri", "AppSpecification"),
        "instance_type": cluster.get("InstanceType"),
        "instance_count": _r.request_whole(cluster, "InstanceCount", cluster_path),
        "volume_size_gb": _r.request_whole(cluster, "VolumeSizeInGB", cluster_path),
        "environment": _r.request_strings(top.get("Environment"), "Environment"),
        "inputs": tuple(inputs), "outputs": tuple(outputs),
        "max_runtime": _r.request_whole(stopping, "MaxRuntimeInSeconds", "StoppingCondition"),
        "tags": _r.request_tags(top.get("Tags"), "Tags"),
    })
    return _r.request_validate(ProcessingJobSpec, data, _processing_locator(positions))

