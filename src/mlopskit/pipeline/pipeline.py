"""``Pipeline``: parameters and steps, compiled to SageMaker's definition JSON.

Compiling makes no network call: code archives are content-addressed and only uploaded
when the pipeline is upserted or started.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import _display
from ..errors import ValidationError
from ..sagemaker_api.pipeline.checks import VERSION, DefinitionInfo, check_definition
from ..specs._common import PIPELINE_NAME_PATTERN, check_items
from .steps import CompileContext, RawStep, Step
from .variables import ExecutionVariables, Parameter, parameter_from_definition

if TYPE_CHECKING:
    from ..session import Session
    from .execution import PipelineExecution

__all__ = ["Pipeline"]

PIPELINE_NAME = PIPELINE_NAME_PATTERN


class Pipeline:
    """A named DAG of steps with parameters, runnable on the local backend or SageMaker.

    Example:
        >>> import mlopskit, tempfile
        >>> from mlopskit.pipeline import FailStep, ParameterString
        >>> reason = ParameterString("Reason", default_value="nothing to do")
        >>> p = Pipeline("demo", parameters=[reason], steps=[FailStep("Stop", reason)],
        ...              session=mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> json.loads(p.definition())["Steps"][0]["Arguments"]
        {'ErrorMessage': {'Get': 'Parameters.Reason'}}
    """

    def __init__(self, name: str, parameters: Sequence[Parameter] = (),
                 steps: Sequence[Step] = (), session: Session | None = None) -> None:
        if not isinstance(name, str) or not PIPELINE_NAME.match(name):
            raise ValidationError(f"name: pipeline name {name!r} must be 1-256 letters, digits "
                                  "and hyphens, starting and ending with a letter or digit",
                                  field="name")
        check_items(parameters, Parameter, "parameters", "expected a Parameter* object")
        check_items(steps, Step, "steps", "expected a step")
        self.name = name
        self.parameters = list(parameters)
        self.steps = list(steps)
        self.session = session
        self._loaded: dict[str, Any] | None = None  # set by from_definition
        self._uploads: dict[str, bytes] = {}

    # -- compiling -----------------------------------------------------------------------

    def _context(self) -> CompileContext:
        from ..session import resolve_session

        session = resolve_session(self.session)
        role = session.execution_role
        if role is None:
            raise ValidationError("role_arn: an AWS pipeline needs the execution role its "
                                  "steps run as; pass role_arn= to AwsSession or upsert()",
                                  field="role_arn")
        return CompileContext(pipeline_name=self.name, bucket=session.default_bucket,
                              role_arn=role, region=session.region)

    def _definition_dict(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        if self._loaded is not None:
            return self._loaded, dict(self._uploads)
        context = self._context()
        definition = {
            "Version": VERSION,
            "Metadata": {},
            "Parameters": [p.definition() for p in self.parameters],
            "PipelineExperimentConfig": {
                "ExperimentName": ExecutionVariables.PIPELINE_NAME.expr,
                "TrialName": ExecutionVariables.PIPELINE_EXECUTION_ID.expr,
            },
            "Steps": [step.definition(context) for step in self.steps],
        }
        return json.loads(json.dumps(definition)), context.uploads

    def definition(self) -> str:
        """The SageMaker pipeline definition (Version 2020-12-01) as JSON text."""
        definition, _ = self._definition_dict()
        return json.dumps(definition, indent=2)

    def validate(self) -> DefinitionInfo:
        """Check the compiled definition: names, references, types, cycles, and that the
        session's backend can run every step.

        Raises :class:`~mlopskit.errors.ValidationError` naming the first problem, or
        :class:`~mlopskit.errors.CapabilityError` naming a step the backend cannot run (on
        the local backend: a built-in algorithm image, say); returns what the checks learnt
        (every step and the DAG) when there is none.
        """
        from ..session import resolve_session
        from .execution import pipeline_engine

        definition, _ = self._definition_dict()
        info = check_definition(definition)
        pipeline_engine(resolve_session(self.session)).check_runnable(definition)
        return info

    def _checked(self) -> DefinitionInfo:
        """The definition's own checks only (no backend): enough to draw it."""
        definition, _ = self._definition_dict()
        return check_definition(definition)

    def resolve_parameters(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value for an execution: the defaults, then ``overrides``."""
        definition, _ = self._definition_dict()
        declared = {p["Name"]: parameter_from_definition(p)
                    for p in definition.get("Parameters") or ()}
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise ValidationError(f"parameters: {', '.join(map(repr, unknown))} not declared by "
                                  f"pipeline {self.name!r}; declared: "
                                  f"{', '.join(declared) or 'none'}", field="parameters")
        values: dict[str, Any] = {}
        for name, parameter in declared.items():
            if name in overrides:
                values[name] = parameter.check(overrides[name], f"parameters.{name}")
            elif parameter.default_value is not None:
                values[name] = parameter.default_value
            else:
                raise ValidationError(f"parameters.{name}: required (the parameter has no "
                                      "default)", field=f"parameters.{name}")
        return values

    def mermaid(self) -> str:
        """The DAG as a Mermaid flowchart, drawn from the compiled definition.

        Solid arrows are data or ``DependsOn`` dependencies; labelled arrows lead from a
        condition step to its ``if`` and ``else`` branches.
        """
        info = self._checked()
        lines = ["flowchart TD"]
        ids = {name: f"s{index}" for index, name in enumerate(info.steps)}
        for name, step in info.steps.items():
            shape = ('{{"%s"}}' if step.get("Type") == "Condition"
                     else '[/"%s"/]' if step.get("Type") == "Fail" else '["%s"]')
            lines.append(f"    {ids[name]}{shape % (name + ': ' + str(step.get('Type')))}")
        for name in info.steps:
            parent = info.parents.get(name)
            for source in sorted(info.graph[name]):
                if source == parent:
                    branch = "if" if name in [
                        s.get("Name") for s in
                        (info.steps[parent].get("Arguments") or {}).get("IfSteps") or ()
                    ] else "else"
                    lines.append(f"    {ids[source]} -- {branch} --> {ids[name]}")
                else:
                    lines.append(f"    {ids[source]} --> {ids[name]}")
        return "\n".join(lines) + "\n"

    # -- running ----------------------------------------------------------------------------

    def upsert(self, role_arn: str | None = None, description: str | None = None, *,
               tags: Mapping[str, str] | None = None) -> str:
        """Create or update the pipeline on the session's backend; returns its ARN.

        The definition is checked first; the code it refers to is uploaded (content-addressed,
        so an unchanged archive is not uploaded again). ``tags`` go on the pipeline (on an
        update they are added to the ones it has, as the SDK does).
        """
        from ..specs._common import check_tags

        try:
            checked_tags = check_tags(dict(tags or {}))
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"tags: {exc}", field="tags") from None
        from ..session import resolve_session
        from .execution import pipeline_engine

        session = resolve_session(self.session)
        definition, uploads = self._definition_dict()
        check_definition(definition)
        objects = session.backend.objects
        for uri, data in uploads.items():
            if not objects.exists(uri):
                objects.put_bytes(data, uri)
        return pipeline_engine(session).upsert_pipeline(
            self.name, json.dumps(definition), role_arn=role_arn or session.role_arn,
            description=description, tags=checked_tags)

    def start(self, parameters: Mapping[str, Any] | None = None,
              execution_name: str | None = None, *,
              workers: int | None = None, experiment: str | None = None,
              run_name: str | None = None) -> PipelineExecution:
        """Start an execution of the upserted pipeline; returns at once.

        ``parameters`` override the defaults (unknown names, wrong types and missing values
        are refused before anything starts). ``workers`` is how many steps run at a time
        (locally 2 when not given; on AWS it is sent as ``ParallelismConfiguration`` only when
        given, so SageMaker's default applies otherwise). ``experiment`` makes the execution
        an MLflow run of it, each step a run nested under it, recorded when a wait sees the
        execution end (see docs/experiments.md).
        """
        from ..session import resolve_session
        from ..tracking.jobs import checked_plan
        from .execution import PipelineExecution, pipeline_engine

        session = resolve_session(self.session)
        plan = checked_plan(experiment, run_name)
        if plan is not None:
            session.tracker()  # CapabilityError before anything starts
        values = self.resolve_parameters(parameters)
        if execution_name is not None and not PIPELINE_NAME.match(execution_name):
            raise ValidationError(f"execution_name: {execution_name!r} must be letters, digits "
                                  "and hyphens", field="execution_name")
        if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                    or workers < 1):
            raise ValidationError(f"workers: a positive integer, got {workers!r}",
                                  field="workers")
        engine = pipeline_engine(session)
        engine.describe_pipeline(self.name)  # NotFoundError: upsert() first
        arn = engine.start_execution(self.name, values, display_name=execution_name,
                                     workers=workers)
        execution = PipelineExecution(arn, session)
        if plan is not None:
            from ..tracking.jobs import start_execution_run

            execution._run_id = start_execution_run(session, plan, self.name, arn, values)
        return execution

    def executions(self) -> list[PipelineExecution]:
        """This pipeline's executions, newest first."""
        from ..session import resolve_session
        from .execution import PipelineExecution, pipeline_engine

        session = resolve_session(self.session)
        return [PipelineExecution(arn, session)
                for arn in pipeline_engine(session).list_executions(self.name)]

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def from_definition(cls, definition: str | Mapping[str, Any], *, name: str,
                        session: Session | None = None) -> Pipeline:
        """A pipeline that runs ``definition`` as written (ours or the official SDK's).

        The definition is checked first; its steps' code must already be where their
        arguments say (the local store, or S3).
        """
        try:
            data = json.loads(definition) if isinstance(definition, str) else \
                json.loads(json.dumps(definition))
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"definition: not valid JSON: {exc}",
                                  field="definition") from None
        check_definition(data)
        parameters = [parameter_from_definition(p) for p in data.get("Parameters") or ()]
        pipeline = cls(name, parameters=parameters,
                       steps=[RawStep(s) for s in data.get("Steps") or ()], session=session)
        pipeline._loaded = data
        return pipeline

    def __repr__(self) -> str:
        return (f"Pipeline({self.name!r}, parameters={[p.name for p in self.parameters]}, "
                f"steps={[s.name for s in self.steps]})")

    def _repr_html_(self) -> str:
        """Parameters, steps and the DAG, drawn from the compiled definition (compiling makes
        no call to the service; a definition that does not check shows the reason)."""
        try:
            return self._html()
        except Exception as exc:
            return _display.card("Pipeline", str(getattr(self, "name", "?")), None,
                                 parts=[_display.unavailable("details", exc)])

    def _html(self) -> str:
        from .execution import dag_picture

        parts: list[str] = []
        try:
            info: DefinitionInfo | None = self._checked()
        except Exception as exc:
            info = None
            parts.append(_display.unavailable("DAG", exc))
        if info is not None:
            parameters = list(info.parameters.values())
            steps = [(name, str(step.get("Type", "")),
                      ", ".join(sorted(info.graph.get(name, ()))),
                      str(step.get("Description") or ""))
                     for name, step in ((n, info.steps[n]) for n in info.order)]
        else:
            parameters = [p.definition() for p in self.parameters]
            steps = [(s.name, s.step_type, ", ".join(s.depends_on), "") for s in self.steps]
        if parameters:
            parts.append(_display.table(
                ("parameter", "type", "default"),
                [(p.get("Name"), p.get("Type", "String"),
                  json.dumps(p["DefaultValue"]) if "DefaultValue" in p else "(required)")
                 for p in parameters], caption="Parameters"))
        if info is not None:
            parts.append(_display.section("DAG", dag_picture(info)))
        parts.append(_display.table(("step", "type", "waits for", "description"), steps,
                                    caption="Steps"))
        return str(_display.card("Pipeline", self.name, None, rows=[
            ("steps", len(steps)), ("loaded from a definition",
                                    "yes" if self._loaded is not None else None)],
            parts=parts))
