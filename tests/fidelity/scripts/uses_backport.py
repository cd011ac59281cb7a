"""A training script whose requirements.txt brings a backport named like a standard module
(as old requirements files pinned ``typing`` or ``enum34``) and a small helper package."""

import dataclasses
import os
import typing

import fidelity_helper

if __name__ == "__main__":
    @dataclasses.dataclass
    class Result:
        value: typing.Optional[int]

    result = Result(fidelity_helper.answer())
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "result.txt"), "w") as handle:
        handle.write("{} {}".format(result.value, typing.__file__))
