"""CreateTransformJob both ways: a spec to the request (``create_transform_job_request``,
pure, checked against botocore's validator in tests) and a resolved request back to a spec
(``transform_spec_from_request``, what the local pipeline engine runs; the rules shared by
every reader are in :mod:`._reading`).

**CreateTransformJob**. Read: ``ModelName``, ``TransformInput`` (S3 prefix, ``ContentType``:
absent means ``application/json``, as the serving container reads a request without one;
``SplitType``: absent means ``None``), ``TransformOutput`` (``S3OutputPath``, ``Accept``,
``AssembleWith``: absent means ``None``), ``TransformResources``, ``BatchStrategy`` (absent:
``MultiRecord``, mlopskit's default, where SageMaker would ask the container),
``MaxPayloadInMB``, ``MaxConcurrentTransforms`` (``0`` means unset), ``DataProcessing``.
Refused: ``RecordIO``/``TFRecord`` splits (the ``recordio-split`` capability), ``Gzip``
input, manifest data types, a non-empty ``Environment`` (locally a transform runs with its
model's environment), ``DataCaptureConfig``. Ignored: ``TransformJobName``, ``Tags``,
``ExperimentConfig``, ``ModelClientConfig``, ``KmsKeyId``, ``VolumeKmsKeyId``,
``TransformAmiVersion``. JSONPath filters the local runner does not know fail when the job
runs, as a bad filter does on SageMaker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import CapabilityError
from ..specs.serving import TransformJobSpec
from . import _reading as _r
from ._reading import S3_DATA_TYPES, S3_PREFIX_ONLY
from .serving import tag_list

__all__ = ["create_transform_job_request", "transform_spec_from_request"]


def create_transform_job_request(spec: TransformJobSpec) -> dict[str, Any]:
    """``CreateTransformJob`` for ``spec``."""
    request: dict[str, Any] = {
        "TransformJobName": spec.name, "ModelName": spec.model_name,
        "BatchStrategy": spec.strategy, "MaxPayloadInMB": spec.max_payload_mb,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": spec.input_uri}},
                           "ContentType": spec.content_type, "SplitType": spec.split_type},
        "TransformOutput": {"S3OutputPath": spec.output_path,
                            "AssembleWith": spec.assemble_with},
        "TransformResources": {"InstanceType": spec.instance_type,
                               "InstanceCount": spec.instance_count},
    }
    if spec.accept:
        request["TransformOutput"]["Accept"] = spec.accept
    if spec.max_concurrent_transforms:
        request["MaxConcurrentTransforms"] = spec.max_concurrent_transforms
    processing = {key: value for key, value in (("InputFilter", spec.input_filter),
                                                 ("OutputFilter", spec.output_filter))
                  if value}
    if spec.join_source != "None":
        processing["JoinSource"] = spec.join_source
    if processing:
        request["DataProcessing"] = processing
    if spec.tags:
        request["Tags"] = tag_list(spec.tags)
    return request


# -- reading CreateTransformJob back: request -> TransformJobSpec --------------------------

_TRANSFORM_READ = frozenset({
    "ModelName", "MaxConcurrentTransforms", "MaxPayloadInMB", "BatchStrategy", "Environment",
    "TransformInput", "TransformOutput", "TransformResources", "DataProcessing"})
_TRANSFORM_IGNORED = frozenset({"TransformJobName", "Tags", "ExperimentConfig",
                                "ModelClientConfig"})
_TRANSFORM_REFUSED = {
    "DataCaptureConfig": "the local backend does not capture a transform's inputs and "
                         "outputs; remove it",
}

_transform_locate = _r.request_locator(
    fields={"model_name": "ModelName",
            "input_uri": "TransformInput.DataSource.S3DataSource.S3Uri",
            "content_type": "TransformInput.ContentType",
            "split_type": "TransformInput.SplitType",
            "output_path": "TransformOutput.S3OutputPath",
            "accept": "TransformOutput.Accept",
            "assemble_with": "TransformOutput.AssembleWith",
            "strategy": "BatchStrategy", "max_payload_mb": "MaxPayloadInMB",
            "max_concurrent_transforms": "MaxConcurrentTransforms",
            "instance_type": "TransformResources.InstanceType",
            "instance_count": "TransformResources.InstanceCount",
            "input_filter": "DataProcessing.InputFilter",
            "output_filter": "DataProcessing.OutputFilter",
            "join_source": "DataProcessing.JoinSource"},
    whole={"max_concurrent_transforms": "MaxConcurrentTransforms",
           "max_payload_mb": "MaxPayloadInMB",
           "input_filter": "DataProcessing.InputFilter",
           "output_filter": "DataProcessing.OutputFilter"})


def transform_spec_from_request(request: Mapping[str, Any], *, name: str) -> TransformJobSpec:
    """The :class:`~mlopskit.specs.serving.TransformJobSpec` a resolved ``CreateTransformJob``
    asks for; ``name`` names the job (the request's ``TransformJobName`` is ignored).

    Absent fields take SageMaker's defaults (``SplitType`` and ``AssembleWith`` ``None``,
    ``MaxPayloadInMB`` 6); an absent ``ContentType`` is ``application/json``, what the
    serving container assumes, and an absent ``BatchStrategy`` is ``MultiRecord``.
    """
    top = _r.request_object(request, "", read=_TRANSFORM_READ, ignored=_TRANSFORM_IGNORED,
                          refused=_TRANSFORM_REFUSED)
    if _r.request_strings(top.get("Environment"), "Environment"):
        raise CapabilityError("Environment: a transform job's own environment variables are "
                              "not passed locally (the model's environment is); set them on "
                              "the model (CreateModel's container Environment) instead")
    given = _r.request_object(top.get("TransformInput"), "TransformInput", required=True,
                            read=("DataSource", "ContentType", "CompressionType", "SplitType"))
    source = _r.request_object(given.get("DataSource"), "TransformInput.DataSource",
                             read=("S3DataSource",), required=True)
    s3_path = "TransformInput.DataSource.S3DataSource"
    s3 = _r.request_object(source.get("S3DataSource"), s3_path, read=("S3DataType", "S3Uri"),
                         required=True)
    _r.request_choice(s3, "S3DataType", s3_path, S3_DATA_TYPES, default=None,
                    local=("S3Prefix",), why=S3_PREFIX_ONLY)
    _r.request_choice(given, "CompressionType", "TransformInput", ("None", "Gzip"),
                    default="None", local=("None",), why="input is not decompressed locally")
    split = _r.request_choice(given, "SplitType", "TransformInput",
                            ("None", "Line", "RecordIO", "TFRecord"), default="None",
                            local=("None", "Line"),
                            why="the local backend lacks the 'recordio-split' capability")
    content_type = _r.request_text(given, "ContentType", "TransformInput") or "application/json"
    output = _r.request_object(top.get("TransformOutput"), "TransformOutput", required=True,
                             read=("S3OutputPath", "Accept", "AssembleWith"),
                             ignored=("KmsKeyId",))
    assemble = _r.request_choice(output, "AssembleWith", "TransformOutput", ("None", "Line"),
                               default="None")
    resources = _r.request_object(top.get("TransformResources"), "TransformResources",
                                read=("InstanceType", "InstanceCount"), required=True,
                                ignored=("VolumeKmsKeyId", "TransformAmiVersion"))
    processing = _r.request_object(top.get("DataProcessing"), "DataProcessing",
                                 read=("InputFilter", "OutputFilter", "JoinSource"))
    concurrent = _r.request_whole(top, "MaxConcurrentTransforms", "")
    data = _r.request_compact({
        "name": name, "model_name": top.get("ModelName"),
        "input_uri": s3.get("S3Uri"), "content_type": content_type, "split_type": split,
        "output_path": output.get("S3OutputPath"), "accept": output.get("Accept"),
        "assemble_with": assemble,
        "strategy": _r.request_choice(top, "BatchStrategy", "", ("MultiRecord", "SingleRecord"),
                                    default="MultiRecord"),
        "max_payload_mb": _r.request_whole(top, "MaxPayloadInMB", ""),
        # 0 asks SageMaker for the container's own setting: unset, here.
        "max_concurrent_transforms": concurrent or None,
        "instance_type": resources.get("InstanceType"),
        "instance_count": _r.request_whole(resources, "InstanceCount", "TransformResources"),
        "input_filter": processing.get("InputFilter"),
        "output_filter": processing.get("OutputFilter"),
        "join_source": _r.request_choice(processing, "JoinSource", "DataProcessing",
                                       ("Input", "None"), default="None"),
    })
    return _r.request_validate(TransformJobSpec, data, _transform_locate)

