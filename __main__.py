"""The TinyStack Pulumi program: stack config in, one TinyStack, every output exported."""

import pulumi

from tinystack_component import TinyStack, TinyStackArgsError
from tinystack_component.config import args_from_config, for_config, read_stack_config

args = args_from_config(*read_stack_config())
try:
    stack = TinyStack(pulumi.get_project(), args)
except TinyStackArgsError as error:
    # Checks against the account (region, zones, hosted zone) run in the component, which knows fields, not keys.
    raise for_config(error) from None
for output_name, value in stack.outputs().items():
    pulumi.export(output_name, value)
