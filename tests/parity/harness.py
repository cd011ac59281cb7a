"""Parity with the official SageMaker Python SDK v2: the same user call must send SageMaker
the same requests.

The method
----------
Each test makes one documented user call twice, against one moto account (``mock_aws``,
fake credentials, ``us-east-1``, one bucket): first with the official SDK (``sagemaker``
2.x, ``wait=False``/``logs=False``), then with mlopskit on an ``AwsSession``. Both sides get
the same user inputs: the same script files, hyperparameters, instance types, S3 URIs,
endpoint and group names. Between the two runs moto's SageMaker state is reset (S3 is kept),
so names the user chose (an endpoint, a model package group, a pipeline) are free again for
the second side.

Every request a side's SageMaker client is about to send is recorded by a botocore hook::

    client.meta.events.register("before-parameter-build.sagemaker", recorder)

The hook gets the operation model and the caller's parameters (before botocore fills in
idempotency tokens) and keeps ``(model.name, deep copy of params)``. The SDK's client is
``sagemaker.Session(...).sagemaker_client`` (or a ``PipelineSession``'s); mlopskit's is
``AwsSession(...).backend.clients.sagemaker``.

Then the recordings are compared:

1. **Operations.** The sequence of *writes* (every operation but ``Describe*``, ``List*``,
   ``Search`` and ``Get*``) must be the expected one on both sides, in order
   (:func:`assert_operations`). Reads are not compared: mlopskit checks names are free
   and waits by describing, the SDK searches before it registers; none of that changes
   anything in the account.
2. **Requests, field by field.** For one operation, the i-th request of each side is
   compared by a small recursive diff that reports dotted paths (``ProductionVariants.0.
   ModelName``; list items by index). Numbers compare by value (``1 == 1.0``), booleans
   only to booleans. A ``PipelineDefinition`` is parsed first, so a pipeline is compared
   step by step, argument by argument.
3. **Rules.** A difference passes only when an explicit rule covers it; each rule names
   the operation, a path (``*`` matches one segment) and *why* the difference is harmless:

   - :class:`Name`: a resource name each side generates itself (a timestamp in it). Its
     value must match a pattern on each side; then it is replaced by a token
     (``<CreateModel.ModelName>``) in every string of that side's requests, so references
     to it (a job name inside an S3 key, a model name in an endpoint config) compare
     equal and a wrong reference still shows.
   - :class:`Allowed`: at that path, the SDK's value must meet ``sdk`` and mlopskit's
     ``mlopskit`` (:class:`Matches` a pattern, :class:`Is` a value, :data:`ABSENT`), and
     ``both`` when given (a check on the pair, e.g. two ``Std:Join`` expressions that
     render the same string). A rule whose condition fails is reported with the reason
     it was meant for.

   Any other difference fails the test with every differing path and both values. A rule
   that matched nothing fails too (it is stale: remove it), so the list stays the list of
   differences that exist. ``tests/parity/README.md`` lists every rule with its reason.

Known gaps are not rules: the test (or that operation's comparison) carries
``pytest.mark.xfail(strict=True, reason=...)`` naming the gap, so it flips to a failure as
soon as the gap is fixed and the mark must come off.
"""

from __future__ import annotations

import copy
import fnmatch
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ABSENT",
    "ANYTHING",
    "BUCKET",
    "EVENT",
    "MODEL_URI",
    "RAW_URI",
    "REGION",
    "ROLE_ARN",
    "SCORING_URI",
    "STAMP",
    "TAGS",
    "TEST_URI",
    "TRAIN_URI",
    "Allowed",
    "Call",
    "Difference",
    "Is",
    "Matches",
    "Name",
    "Recorder",
    "Recording",
    "assert_documented",
    "assert_operations",
    "assert_same_code",
    "compare",
    "diff",
    "rendered_join",
    "parsed",
    "same_rendering",
    "sdk_tags",
    "value_at",
]

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
BUCKET = "mlopskit-parity"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mlopskit-parity"
EVENT = "before-parameter-build.sagemaker"
# The SDK's and mlopskit's name stamp: YYYY-MM-DD-HH-MM-SS-mmm.
STAMP = r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}"
READ_PREFIXES = ("Describe", "List", "Search", "Get")
# Request fields that carry JSON text; compared parsed, so differences get paths.
JSON_FIELDS = frozenset({"PipelineDefinition"})
README = Path(__file__).with_name("README.md")

# The user's inputs, the same on both sides.
TRAIN_URI = f"s3://{BUCKET}/data/train/"
TEST_URI = f"s3://{BUCKET}/data/test/"
RAW_URI = f"s3://{BUCKET}/data/raw/"
SCORING_URI = f"s3://{BUCKET}/data/scoring/"
MODEL_URI = f"s3://{BUCKET}/models/iris/model.tar.gz"
TAGS = {"project": "churn", "team": "ml-platform"}


def sdk_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """The SDK takes tags as a list of Key/Value pairs; mlopskit as a mapping."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


class _Absent:
    """A field one side does not send."""

    def __repr__(self) -> str:
        return "<absent>"


MISSING: Any = _Absent()


# -- recording -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request: the operation's name and the parameters the caller passed."""

    operation: str
    params: dict[str, Any]


class Recorder:
    """A ``before-parameter-build.sagemaker`` hook that keeps every request, in order."""

    def __init__(self, side: str) -> None:
        self.side = side
        self.calls: list[Call] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append(Call(model.name, copy.deepcopy(params)))

    def attach(self, client: Any) -> Any:
        """Record ``client``'s requests from now on; returns the client."""
        client.meta.events.register(EVENT, self)
        return client

    @property
    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    @property
    def writes(self) -> list[str]:
        """The operations that change something, in order."""
        return [op for op in self.operations if not op.startswith(READ_PREFIXES)]

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.operation == operation]

    def request(self, operation: str, index: int = 0) -> dict[str, Any]:
        found = self.requests(operation)
        if len(found) <= index:
            raise AssertionError(f"{self.side} sent {len(found)} {operation} request(s); "
                                 f"wanted #{index + 1}. It sent: {self.operations}")
        return found[index]


@dataclass
class Recording:
    """What each side sent for the same user call."""

    sdk: Recorder = field(default_factory=lambda: Recorder("sdk"))
    mlopskit: Recorder = field(default_factory=lambda: Recorder("mlopskit"))


# -- expectations and rules ----------------------------------------------------------------


class Expect:
    """What one side's value at a path must be for a rule to apply."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Matches(Expect):
    """A string that matches ``pattern`` whole."""

    pattern: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None

    def __str__(self) -> str:
        return f"a string matching r'{self.pattern}'"


@dataclass(frozen=True)
class Is(Expect):
    """Exactly ``value`` (compared as the diff compares); an :class:`Expect` inside it
    stands for any value it accepts (``Is({"Uri": Matches("s3://.*")})``)."""

    value: Any

    def accepts(self, value: Any) -> bool:
        return _conforms(self.value, value)

    def __str__(self) -> str:
        return f"{self.value!r}"


class _AbsentExpect(Expect):
    def accepts(self, value: Any) -> bool:
        return value is MISSING

    def __str__(self) -> str:
        return "absent"


class _Anything(Expect):
    def accepts(self, value: Any) -> bool:
        return True

    def __str__(self) -> str:
        return "anything"


ABSENT: Expect = _AbsentExpect()
ANYTHING: Expect = _Anything()


@dataclass(frozen=True, eq=False)  # rules are kept in sets by identity
class Allowed:
    """A harmless difference at ``path`` of ``operation``'s request, and why.

    ``path`` is dotted (``*`` matches one segment); it covers everything below it. The rule
    applies only when the SDK's value meets ``sdk``, mlopskit's meets ``mlopskit`` and the
    pair passes ``both`` (described by ``both_means``).
    """

    operation: str
    path: str
    reason: str
    sdk: Expect = ANYTHING
    mlopskit: Expect = ANYTHING
    both: Callable[[Any, Any], bool] | None = None
    both_means: str = ""

    def accepts(self, sdk: Any, mlopskit: Any) -> bool:
        return (self.sdk.accepts(sdk) and self.mlopskit.accepts(mlopskit)
                and (self.both is None or self.both(sdk, mlopskit)))

    def condition(self) -> str:
        text = f"SDK: {self.sdk}; mlopskit: {self.mlopskit}"
        return text + (f"; {self.both_means}" if self.both is not None else "")


@dataclass(frozen=True)
class Name:
    """A resource name each side generates itself; compared by shape, then by reference.

    On each side the value at ``path`` of the first ``operation`` request must match the
    side's pattern; it is then replaced by :attr:`token` in every string that side sent.
    """

    operation: str
    path: str
    sdk: str
    mlopskit: str
    reason: str

    @property
    def token(self) -> str:
        return f"<{self.operation}.{self.path}>"


Rule = Allowed | Name


# -- the diff ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    path: str
    sdk: Any
    mlopskit: Any
    note: str = ""

    def __str__(self) -> str:
        head = f"  {self.path or '<the whole request>'}"
        if self.note:
            head += f"\n      ({self.note})"
        return (f"{head}\n      sdk:      {_show(self.sdk)}\n"
                f"      mlopskit: {_show(self.mlopskit)}")


def _show(value: Any) -> str:
    if value is MISSING:
        return "<absent>"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 400 else text[:400] + "...(cut)"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _conforms(template: Any, value: Any) -> bool:
    if isinstance(template, Expect):
        return template.accepts(value)
    if isinstance(template, dict) and isinstance(value, dict):
        return template.keys() == value.keys() and all(
            _conforms(template[k], value[k]) for k in template)
    if isinstance(template, list) and isinstance(value, list):
        return len(template) == len(value) and all(
            _conforms(t, v) for t, v in zip(template, value, strict=True))
    return _same(template, value)


def _matches(pattern: str, path: tuple[str, ...]) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(
        fnmatch.fnmatchcase(segment, part) for segment, part in zip(path, parts, strict=True))


def diff(sdk: Any, mlopskit: Any, allowed: Sequence[Allowed] = (),
         used: set[Allowed] | None = None) -> list[Difference]:
    """Every path where ``sdk`` and ``mlopskit`` differ and no rule in ``allowed`` applies.

    Rules that applied are added to ``used``.

    Example:
        >>> diff({"a": 1, "b": [1, 2]}, {"a": 1.0, "b": [1, 3], "c": True})
        [Difference(path='b.1', sdk=2, mlopskit=3, note=''), \
Difference(path='c', sdk=<absent>, mlopskit=True, note='')]
    """
    found: list[Difference] = []
    _walk(sdk, mlopskit, (), list(allowed), set() if used is None else used, found)
    return found


def _walk(sdk: Any, mk: Any, path: tuple[str, ...], allowed: list[Allowed],
          used: set[Allowed], found: list[Difference]) -> None:
    if _same(sdk, mk):
        return
    dotted = ".".join(path)
    for rule in allowed:
        if _matches(rule.path, path):
            used.add(rule)
            if not rule.accepts(sdk, mk):
                found.append(Difference(dotted, sdk, mk, note=(
                    f"allowed only when {rule.condition()}: {rule.reason}")))
            return
    if isinstance(sdk, dict) and isinstance(mk, dict):
        for key in sorted(set(sdk) | set(mk)):
            _walk(sdk.get(key, MISSING), mk.get(key, MISSING), (*path, str(key)), allowed,
                  used, found)
    elif isinstance(sdk, list) and isinstance(mk, list):
        for i in range(max(len(sdk), len(mk))):
            _walk(sdk[i] if i < len(sdk) else MISSING, mk[i] if i < len(mk) else MISSING,
                  (*path, str(i)), allowed, used, found)
    else:
        found.append(Difference(dotted, sdk, mk))


def value_at(request: Any, path: str) -> Any:
    """The value at a dotted path (list items by index), or the absent marker."""
    value = request
    for part in path.split(".") if path else ():
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def parsed(value: Any) -> Any:
    """``value`` with its JSON text fields (``PipelineDefinition``) parsed."""
    if isinstance(value, dict):
        return {k: json.loads(v) if k in JSON_FIELDS and isinstance(v, str) else parsed(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [parsed(v) for v in value]
    return value


def _substituted(value: Any, replacements: Sequence[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _substituted(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, replacements) for v in value]
    return value


def _names(recorder: Recorder, names: Iterable[Name], side: str
           ) -> tuple[list[tuple[str, str]], list[str]]:
    """(value -> token replacements, longest first; problems with the names' shapes)."""
    replacements: list[tuple[str, str]] = []
    problems: list[str] = []
    for name in names:
        requests = recorder.requests(name.operation)
        if not requests:
            continue  # the operations check reports a missing operation
        value = value_at(parsed(requests[0]), name.path)
        pattern = name.sdk if side == "sdk" else name.mlopskit
        if not isinstance(value, str) or re.fullmatch(pattern, value) is None:
            problems.append(f"  {name.operation} {name.path}: {side} sent {_show(value)}, "
                            f"expected a name matching r'{pattern}' ({name.reason})")
            continue
        replacements.append((value, name.token))
    replacements.sort(key=lambda pair: len(pair[0]), reverse=True)
    return replacements, problems


def compare(recording: Recording, operation: str, rules: Sequence[Rule], *,
            index: int = 0) -> None:
    """Compare the ``index``-th ``operation`` request of each side; raise on a difference
    no rule allows, a name of the wrong shape, or a rule of this operation that is stale."""
    names = [r for r in rules if isinstance(r, Name)]
    allowed = [r for r in rules if isinstance(r, Allowed) and r.operation == operation]
    sdk_swaps, sdk_problems = _names(recording.sdk, names, "sdk")
    mk_swaps, mk_problems = _names(recording.mlopskit, names, "mlopskit")
    problems = [p for p in sdk_problems + mk_problems if p.startswith(f"  {operation} ")]
    sdk = _substituted(parsed(recording.sdk.request(operation, index)), sdk_swaps)
    mk = _substituted(parsed(recording.mlopskit.request(operation, index)), mk_swaps)
    used: set[Allowed] = set()
    differences = diff(sdk, mk, allowed, used)
    stale = [r for r in allowed if r not in used]
    if not (differences or problems or stale):
        return
    lines = [f"{operation} request #{index + 1}: the SDK and mlopskit differ"]
    if differences:
        lines.append(f"{len(differences)} difference(s) no rule allows (add a rule only if "
                     "harmless, else mark the gap xfail(strict=True)):")
        lines.extend(str(d) for d in differences)
    if problems:
        lines.append("generated names of an unexpected shape:")
        lines.extend(problems)
    if stale:
        lines.append("allowed differences that no longer occur (remove these rules):")
        lines.extend(f"  {r.path}: {r.reason}" for r in stale)
    raise AssertionError("\n".join(lines))


def assert_operations(recording: Recording, expected: Sequence[str]) -> None:
    """Both sides made exactly the ``expected`` writes, in order."""
    sdk, mk = recording.sdk.writes, recording.mlopskit.writes
    if sdk == list(expected) and mk == list(expected):
        return
    raise AssertionError(
        "the sequence of write operations differs:\n"
        f"  expected: {list(expected)}\n  sdk:      {sdk}\n  mlopskit: {mk}\n"
        f"  (every sdk call:      {recording.sdk.operations})\n"
        f"  (every mlopskit call: {recording.mlopskit.operations})")


# -- helpers for the rules -----------------------------------------------------------------


def rendered_join(value: Any) -> str | None:
    """A ``Std:Join`` (or plain string) rendered with ``{Get: X}`` as ``<X>``; None for
    anything else. Two expressions with the same rendering give the same string at run
    time.

    Example:
        >>> rendered_join({"Std:Join": {"On": "/", "Values": [
        ...     "s3:/", "b", {"Get": "Execution.PipelineExecutionId"}]}})
        's3://b/<Execution.PipelineExecutionId>'
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Get"}:
        return f"<{value['Get']}>"
    if isinstance(value, dict) and set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        parts = [rendered_join(v) for v in join.get("Values", [])]
        if any(p is None for p in parts):
            return None
        return str(join.get("On", "")).join(p for p in parts if p is not None)
    return None


def same_rendering(sdk: Any, mlopskit: Any) -> bool:
    rendered = rendered_join(sdk)
    return rendered is not None and rendered == rendered_join(mlopskit)


def _files(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()}


def _object(s3: Any, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def assert_same_code(s3: Any, sdk_uri: str, mlopskit_uri: str) -> None:
    """The two sides uploaded the same code under different keys: the same script, or two
    ``sourcedir.tar.gz`` with the same files and contents."""
    sdk, mk = _object(s3, sdk_uri.strip('"')), _object(s3, mlopskit_uri.strip('"'))
    if sdk_uri.strip('"').endswith(".tar.gz"):
        sdk_files, mk_files = _files(sdk), _files(mk)
        assert sdk_files == mk_files, (
            f"the code archives differ: {sdk_uri} has {sorted(sdk_files)}, "
            f"{mlopskit_uri} has {sorted(mk_files)} (or their contents differ)")
    else:
        assert sdk == mk, f"the uploaded scripts differ: {sdk_uri} vs {mlopskit_uri}"


def assert_documented(rules: Iterable[Rule]) -> None:
    """Every rule appears in ``tests/parity/README.md`` as ``operation`` and ``path``."""
    text = README.read_text()
    missing = [f"{r.operation} {r.path}" for r in rules
               if f"`{r.operation}`" not in text or f"`{r.path}`" not in text]
    assert not missing, ("tests/parity/README.md does not list these allowed differences "
                         f"(operation and path, each in backticks): {missing}")
