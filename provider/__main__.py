"""Entry point of the TinyStack component provider plugin (see PulumiPlugin.yaml).

Pulumi runs this directory as a script, so there is no package around this file and imports are absolute: the
`tinystack_component` package comes from this plugin's virtualenv, where requirements.txt installs the repository.
The schema it serves is the committed tinystack_component/schema.json (tests/test_provider.py checks it).
"""

from pulumi.provider.experimental import component_provider_host

from tinystack_component import TinyStack

if __name__ == "__main__":
    component_provider_host(components=[TinyStack], name="tinystack")
