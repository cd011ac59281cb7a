"""Local batch transform: records split and batched per the spec, sent to inference servers
by parallel workers, answers written back in input order as ``<input name>.out``.

The job runs in the calling process, which the row names (pid + start time), with each
server's pid as it comes up: any failure ends the job ``Failed`` with a reason and stops its
servers, and if the process itself dies, the next ``describe`` fails the job and stops the
servers it left (see :func:`describe_transform_job`). On Linux the servers are forked from
a process that loaded the model once, kept for the next job of the same model (see
:mod:`._transform_workers`).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ...errors import InvocationError, MlopsKitError, NotFoundError
from ...specs.serving import TransformJobDescription, TransformJobSpec, VariantSpec
from ..base import ProgressSink
from ._processes import identity, parse_recorded, running, stop_group, stop_marked
from ._transform_workers import TransformWorkers
from .objectstore import objects_under
from .store import dumps

if TYPE_CHECKING:
    from .endpoints import LocalEndpoints

__all__ = ["apply_filter", "run_transform_job"]

_INDEX = re.compile(r"^\$\[(-?\d+)\]$")
_LIST = re.compile(r"^\$\[(-?\d+(?:\s*,\s*-?\d+)+)\]$")
_SLICE = re.compile(r"^\$\[(-?\d*):(-?\d*)\]$")
_KEYS = re.compile(r"^\$((?:\.[A-Za-z_][\w-]*)+)$")


class _JobFailed(Exception):
    pass


def apply_filter(path: str | None, record: str, content_type: str) -> str:
    """The JSONPath subset SageMaker's data processing uses, on one CSV or JSON record.

    ``$`` keeps all; ``$[i]``, ``$[i,j]`` and ``$[a:b]`` pick CSV columns (or JSON array
    items); ``$.a.b`` picks a JSON key.

    Example:
        >>> apply_filter("$[1:]", "7,1.5,2.5", "text/csv")
        '1.5,2.5'
        >>> apply_filter("$.features", '{"id": 1, "features": [1, 2]}', "application/json")
        '[1, 2]'
    """
    if path is None or path == "$":
        return record
    is_json = content_type == "application/json"
    if (match := _KEYS.match(path)) is not None:
        value: Any = _json(record, path)
        for key in match.group(1).strip(".").split("."):
            if not isinstance(value, dict) or key not in value:
                raise _JobFailed(f"filter {path!r}: key {key!r} not in the record")
            value = value[key]
        return json.dumps(value)
    items: list[Any] = _json(record, path) if is_json else record.split(",")
    if not isinstance(items, list):
        raise _JobFailed(f"filter {path!r}: the record is not a JSON array")
    try:
        if (match := _INDEX.match(path)) is not None:
            picked: list[Any] = [items[int(match.group(1))]]
        elif (match := _LIST.match(path)) is not None:
            picked = [items[int(i)] for i in match.group(1).split(",")]
        elif (match := _SLICE.match(path)) is not None:
            start = int(match.group(1)) if match.group(1) else None
            stop = int(match.group(2)) if match.group(2) else None
            picked = items[start:stop]
        else:
            raise _JobFailed(f"filter {path!r} is not supported locally; use $, $[i], "
                             "$[i,j], $[a:b] or $.key")
    except IndexError:
        raise _JobFailed(f"filter {path!r}: the record has {len(items)} fields") from None
    return json.dumps(picked) if is_json else ",".join(str(p) for p in picked)


def _json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _JobFailed(f"filter {path!r}: a record is not JSON ({exc}): "
                         f"{text[:80]!r}") from None


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _JobFailed(f"{what} is not UTF-8 text (byte {exc.start}: {exc.reason}); the "
                         "local backend reads records as UTF-8") from None


def _records(data: bytes, split_type: str) -> list[str]:
    if split_type == "Line":
        return [line for line in _text(data, "the input").splitlines() if line.strip()]
    if split_type == "None":
        return [_text(data, "the input")]
    raise _JobFailed(f"split_type {split_type!r} is not supported by the local backend; "
                     "use Line or None")


def _batches(records: list[str], spec: TransformJobSpec) -> list[list[int]]:
    """Indexes of the records in each request, within the payload limit."""
    limit = spec.max_payload_mb * 1024 * 1024 or None  # 0: no limit
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, record in enumerate(records):
        length = len(record.encode()) + 1
        if limit is not None and length > limit:
            raise _JobFailed(f"record {index} is {length} bytes, over max_payload_mb="
                             f"{spec.max_payload_mb}")
        if current and (spec.strategy == "SingleRecord" or
                        (limit is not None and size + length > limit)):
            batches.append(current)
            current, size = [], 0
        current.append(index)
        size += length
    if current:
        batches.append(current)
    return batches


# Plain lines: printable ASCII and tabs between single "\n"s, no blank line. Such input (and
# such answers) can be cut and counted on the bytes, with no Python work per record.
_PLAIN_BYTES = bytes([9, 10, *range(0x20, 0x7F)])
_BLANK_LINE = re.compile(rb"\n[ \t]*\n")
_BLANK_FIRST = re.compile(rb"[ \t]*(?:\n|\Z)")


def _body_end(data: bytes) -> int:
    """Where the records end: before one final newline."""
    return len(data) - 1 if data.endswith(b"\n") else len(data)


def _plain_lines(data: bytes) -> bool:
    """True when ``data`` (less one final newline) is plain lines. Read in place: a copy of
    a large input costs as much as the checks themselves.

    Example:
        >>> _plain_lines(b"1,2\\n3,4\\n"), _plain_lines(b"1,2\\n \\n3,4"), _plain_lines(b"1\\r\\n")
        (True, False, False)
    """
    end = _body_end(data)
    if end <= 0 or data.translate(None, _PLAIN_BYTES):
        return False
    # A blank line (empty, or spaces and tabs only): the first, one between two newlines,
    # or the last.
    if _BLANK_FIRST.match(data, 0, end) or _BLANK_LINE.search(data, 0, end):
        return False
    last = data.rfind(b"\n", 0, end) + 1
    return bool(data[last:end].strip(b" \t"))


class _Requests:
    """One input object cut into request bodies.

    ``batches`` (record indexes per request) and ``records`` are kept on the general path,
    where answers are joined to their records; the fast path keeps counts only.
    """

    def __init__(self, data: bytes, spec: TransformJobSpec) -> None:
        self.spec = spec
        self.records: list[str] | None = None
        self.batches: list[list[int]] | None = None
        self.bodies: list[bytes] = []
        self.counts: list[int] = []
        self.fast = (spec.split_type == "Line" and spec.strategy == "MultiRecord"
                     and spec.assemble_with == "Line" and spec.input_filter is None
                     and spec.output_filter is None and spec.join_source in (None, "None")
                     and _plain_lines(data))
        if self.fast:
            self._cut(data, _body_end(data))
            return
        records = self.records = _records(data, spec.split_type)
        sent = [apply_filter(spec.input_filter, r, spec.content_type) for r in records]
        self.batches = _batches(sent, spec)
        self.bodies = ["\n".join(sent[i] for i in batch).encode() for batch in self.batches]
        self.counts = [len(batch) for batch in self.batches]

    def _cut(self, data: bytes, end: int) -> None:
        """Greedy cuts at line ends of ``data[:end]``, each request (with its newline)
        within the limit."""
        limit = self.spec.max_payload_mb * 1024 * 1024 or end + 1
        start = 0
        while start < end:
            if end - start < limit:
                cut = end
            else:
                cut = data.rfind(b"\n", start, start + limit)
                if cut < 0:
                    index = data.count(b"\n", 0, start)
                    length = (data.find(b"\n", start, end) % (end + 1)) - start + 1
                    raise _JobFailed(f"record {index} is {length} bytes, over max_payload_mb="
                                     f"{self.spec.max_payload_mb}")
            chunk = data[start:cut]
            self.bodies.append(chunk)
            self.counts.append(chunk.count(b"\n") + 1)
            start = cut + 1

    def describe(self, request: int) -> str:
        first = sum(self.counts[:request])
        return f"records {first}..{first + self.counts[request] - 1}"

    def output(self, answers: list[bytes]) -> bytes:
        """The answers, in input order, assembled as the spec says."""
        spec = self.spec
        if self.fast and all(_plain_lines(answer) for answer in answers):
            parts = []
            for request, answer in enumerate(answers):
                answered = answer.count(b"\n") + (not answer.endswith(b"\n"))
                _check_lines(self.counts[request], answered)
                parts.append(answer if answer.endswith(b"\n") else answer + b"\n")
            return b"".join(parts)
        lines: list[str] = []
        for request, answer in enumerate(answers):
            text = _text(answer, f"the answer to {self.describe(request)}")
            if spec.assemble_with == "None":
                lines.append(text)
                continue
            outputs = [line for line in text.splitlines() if line.strip()]
            _check_lines(self.counts[request], len(outputs))
            if self.batches is None or self.records is None:
                lines.extend(outputs)
            else:
                lines.extend(_joined(self.batches[request], outputs, self.records, spec))
        separator = "\n" if spec.assemble_with == "Line" else ""
        return (separator.join(lines) + ("\n" if separator and lines else "")).encode()


def _check_lines(records: int, lines: int) -> None:
    if lines != records:
        raise _JobFailed(f"a request of {records} records got {lines} answer lines; "
                         "with assemble_with='Line' there must be one line per record")


def _joined(batch: list[int], outputs: list[str], records: list[str],
            spec: TransformJobSpec) -> list[str]:
    joined = []
    for index, output in zip(batch, outputs, strict=True):
        line = output
        if spec.join_source == "Input":
            if spec.content_type == "application/json":
                line = json.dumps({"SageMakerInput": _json(records[index], "join_source"),
                                   "SageMakerOutput": _json(output, "join_source")})
            else:
                line = f"{records[index]},{output}"
        joined.append(apply_filter(spec.output_filter, line, spec.content_type))
    return joined


def run_transform_job(serving: LocalEndpoints, spec: TransformJobSpec,
                      on_progress: ProgressSink | None = None) -> None:
    """Run ``spec`` to its end, recording status and outputs in the store; files and
    records done so far go to ``on_progress``.

    Every failure after the job is recorded ends it ``Failed`` with a reason (a Ctrl-C,
    ``Stopped``, then re-raised), and the servers it started are always stopped.
    """
    store, objects = serving.store, serving.backend.objects
    clock = serving.backend.clock

    def now() -> str:
        return clock.now().isoformat()

    model = serving.servable(spec.model_name)  # refused before the job exists
    owner, owner_start = identity()
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM transform_jobs WHERE name = ?", (spec.name,)).fetchone():
            from ...errors import ConflictError

            raise ConflictError(f"transform job {spec.name!r} already exists")
        db.execute("INSERT INTO transform_jobs (name, spec, status, created, owner_pid, "
                   "owner_start) VALUES (?, ?, 'InProgress', ?, ?, ?)",
                   (spec.name, spec.model_dump_json(), now(), owner, owner_start))
    outputs: list[str] = []
    count = 0
    status, reason = "Completed", None
    variant = VariantSpec(name="transform", model_name=spec.model_name,
                          instance_type=spec.instance_type)

    def record(pid: int, start: int | None) -> None:
        with store.transaction() as db:  # recorded as it comes up, for a later describe
            row = db.execute("SELECT servers FROM transform_jobs WHERE name = ?",
                             (spec.name,)).fetchone()
            recorded = json.loads(row["servers"] or "[]")
            recorded.append([pid, start])
            db.execute("UPDATE transform_jobs SET servers = ? WHERE name = ?",
                       (dumps(recorded), spec.name))

    instances = TransformWorkers(serving, spec, model, variant, _server_group(spec.name),
                                 record)
    try:
        # The instances start (forked from a process that loads the model once, or kept
        # from an earlier job of the same model; see _transform_workers.py) while this
        # thread reads and cuts the first input.
        instances.start()
        inputs = _inputs(objects, spec.input_uri)
        first = _cut(objects.get_bytes(inputs[0][0]), spec, inputs[0][0])
        instances.wait_ready()
        with store.transaction() as db:
            db.execute("UPDATE transform_jobs SET started = ? WHERE name = ?",
                       (now(), spec.name))
        accept = spec.accept or spec.content_type
        # Progress by input files (and records so far): the job runs here.
        if on_progress is not None:
            on_progress("0 records", 0, len(inputs))
        with ThreadPoolExecutor(max_workers=instances.slots) as pool:
            for position, (uri, relative) in enumerate(inputs):
                requests = first if position == 0 else _cut(objects.get_bytes(uri), spec, uri)
                futures = [pool.submit(_send, instances, requests, i, spec.content_type,
                                       accept)
                           for i in range(len(requests.bodies))]
                answers = [future.result() for future in futures]  # in input order
                target = f"{spec.output_path.rstrip('/')}/{relative}.out"
                try:
                    body = requests.output(answers)
                except _JobFailed as exc:
                    raise _JobFailed(f"input {uri}: {exc}") from None
                objects.put_bytes(body, target)
                outputs.append(target)
                count += sum(requests.counts)
                if on_progress is not None:
                    on_progress(f"{count} records", position + 1, len(inputs))
    except _JobFailed as exc:
        status, reason = "Failed", f"ClientError: {exc}"[:1024]
    except MlopsKitError as exc:
        status, reason = "Failed", f"{type(exc).__name__}: {exc}"[:1024]
    except Exception as exc:  # a bug, or something unforeseen: still a reason, still an end
        status, reason = "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024]
    except BaseException:  # Ctrl-C: end the job Stopped, then let the interrupt go on
        status, reason = "Stopped", "interrupted by the user"
        raise
    finally:
        try:
            instances.stop()
        finally:
            with store.transaction() as db:
                db.execute("UPDATE transform_jobs SET status = ?, failure_reason = ?, "
                           "outputs = ?, records = ?, ended = ?, servers = '[]' WHERE name = ?",
                           (status, reason, dumps(outputs), count, now(), spec.name))


def _server_group(name: str) -> str:
    """The endpoint name a job's servers are started under (their folders' parent)."""
    return f"transform-{name}"


def _cut(data: bytes, spec: TransformJobSpec, uri: str) -> _Requests:
    try:
        return _Requests(data, spec)
    except _JobFailed as exc:
        raise _JobFailed(f"input {uri}: {exc}") from None


def _inputs(objects: Any, prefix: str) -> list[tuple[str, str]]:
    found = objects_under(objects, prefix)
    if not found:
        raise _JobFailed(f"no S3 objects under {prefix!r}")
    return found


def _send(instances: TransformWorkers, requests: _Requests, request: int,
          content_type: str, accept: str) -> bytes:
    status, reply = instances.post(requests.bodies[request], content_type, accept)
    if status != 200:
        raise InvocationError(f"{requests.describe(request)} answered {status}: "
                              f"{reply.decode('utf-8', 'replace')[:300]}", status=status)
    return reply


def describe_transform_job(serving: LocalEndpoints, name: str) -> TransformJobDescription:
    from .backend import LOCAL_ACCOUNT

    row: Any = serving.store.query_one("SELECT * FROM transform_jobs WHERE name = ?", (name,))
    if row is None:
        raise NotFoundError(f"transform job {name!r} does not exist on the local backend")
    if row["status"] == "InProgress" and row["owner_pid"] is not None and \
            not running(row["owner_pid"], row["owner_start"]):
        _settle(serving, name, row)
        row = serving.store.query_one("SELECT * FROM transform_jobs WHERE name = ?", (name,))
    spec = TransformJobSpec.model_validate_json(row["spec"])
    return TransformJobDescription(
        name=name,
        arn=f"arn:aws:sagemaker:{serving.backend.region}:{LOCAL_ACCOUNT}:transform-job/"
            f"{name.lower()}",
        status=row["status"], failure_reason=row["failure_reason"],
        output_path=spec.output_path, outputs=tuple(json.loads(row["outputs"] or "[]")),
        records=row["records"], creation_time=_dt.datetime.fromisoformat(row["created"]),
        start_time=_dt.datetime.fromisoformat(row["started"]) if row["started"] else None,
        end_time=_dt.datetime.fromisoformat(row["ended"]) if row["ended"] else None)



def _settle(serving: LocalEndpoints, name: str, row: Any) -> None:
    """Fail a job whose process died, and stop the servers it left.

    Recorded servers are stopped only while their pid still has the recorded start time; a
    server still loading its model when the process died was not recorded yet, and is found
    by its command line, which names its folder under ``endpoints/transform-<name>/``.
    """
    reason = (f"InternalServerError: the process running it (pid {row['owner_pid']}) exited "
              "before the job finished; its inference servers were stopped")
    with serving.store.transaction() as db:
        settled = db.execute(
            "UPDATE transform_jobs SET status = 'Failed', failure_reason = ?, ended = ?, "
            "servers = '[]' WHERE name = ? AND status = 'InProgress'",
            (reason, serving.backend.clock.now().isoformat(), name)).rowcount
    if not settled:
        return  # another describe did it
    for pid, start in parse_recorded(row["servers"]):
        stop_group(pid, start)
    folder = serving.root / _server_group(name)
    stop_marked(str(folder).encode() + b"/")
    shutil.rmtree(folder, ignore_errors=True)
