"""SageMaker's serving containers' side of an inference request, without the container.

- :mod:`.handlers`: the handler contract (``model_fn``, ``input_fn``/``predict_fn``/
  ``output_fn`` or ``transform_fn``), its HTTP statuses and the reply a handler's answer
  becomes;
- :mod:`.frameworks`: each framework container's default handlers, and which container a
  model runs in;
- :mod:`.codecs`: the containers' default body decoding and encoding (CSV, JSON, NPY,
  RecordIO-protobuf).

No HTTP here: the local backend's inference server puts a server in front of it.
"""
