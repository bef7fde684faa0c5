"""The wheel's build step (setup.cfg's cmdclass): what debian/rules does after
dh_install, for the pip install.

pyshared_tools.outputs.prerender runs (in the build's process) over the templates the wheel ships
(templates/, installed by setup.cfg's data_files into
share/dh-pyshared/templates): the pre-rendered snippets replace the package's
pyshared_tools/outputs/prerendered.py in the build, and the templates compiled by
Jinja2 (the Jinja2 of the build environment: pyproject.toml's build-system
requires it) go into share/dh-pyshared/compiled-templates, beside the
templates, where pyshared_tools/outputs/render.py looks for them.  That Jinja2 may not
be the one installed beside the tool: render.py then finds the stamp of
another version and compiles the templates from source.
"""

import os
import sys

from setuptools.command.build_py import build_py

TEMPLATES = "templates"
COMPILED_DESTINATION = "share/dh-pyshared/compiled-templates"


class BuildPy(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install renders from the checkout at run time
            return
        build_base = self.get_finalized_command("build").build_base
        compiled = os.path.join(build_base, "compiled-templates")
        self.mkpath(compiled)
        for name in os.listdir(compiled):  # a stale one from an earlier build of other templates
            os.unlink(os.path.join(compiled, name))
        # In this process, from the source tree being built (put first on
        # sys.path: the build backend does not); no bytecode is written into it.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from pyshared_tools.outputs import prerender

        keep, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            prerender.main(
                [
                    "--templates",
                    TEMPLATES,
                    "--output",
                    os.path.join(self.build_lib, "pyshared_tools", "outputs", "prerendered.py"),
                    "--compiled",
                    compiled,
                ]
            )
        finally:
            sys.dont_write_bytecode = keep
        files = sorted(os.path.join(compiled, name) for name in os.listdir(compiled))
        # In place: install_data (run after build) may hold the list already.
        if self.distribution.data_files is None:
            self.distribution.data_files = []
        self.distribution.data_files.append((COMPILED_DESTINATION, files))
