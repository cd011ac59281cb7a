"""Users enable ``mlopskit.testing`` in their own conftest and get working fixtures."""

from __future__ import annotations

USER_TEST = '''
import mlopskit

pytest_plugins = ["mlopskit.testing"]


def train(session):
    import pathlib, tempfile
    folder = pathlib.Path(tempfile.mkdtemp())
    (folder / "train.py").write_text("print('hi')")
    return mlopskit.Estimator(entry_point="train.py", source_dir=folder,
                              image_uri="1.dkr.ecr.us-east-1.amazonaws.com/x:1",
                              instance_type="ml.m5.large", session=session).fit(logs=False)


def test_my_workflow(any_session):
    assert train(any_session).status == "Completed"


def test_clock(fake_clock):
    fake_clock.sleep(3600)
    assert fake_clock.monotonic() == 3600
'''


def test_a_user_test_suite_runs_on_both_backends(pytester):
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*3 passed*"])
