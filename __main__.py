"""The TinyStack Pulumi program: stack config in, one TinyStack, every output exported."""

import pulumi

from tinystack_component import TinyStack
from tinystack_component.config import args_from_config, read_stack_config

stack = TinyStack(pulumi.get_project(), args_from_config(*read_stack_config()))
for output_name, value in stack.outputs().items():
    pulumi.export(output_name, value)
