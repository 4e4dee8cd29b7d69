"""Build the compiled decoder; all metadata lives in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension("jetliner._plan", ["jetliner/_plan.pyx"]),
            Extension("jetliner._decoder", ["jetliner/_decoder.pyx"], extra_compile_args=["-O3"]),
            Extension("jetliner._snappy", ["jetliner/_snappy.pyx"], extra_compile_args=["-O3"]),
            Extension("jetliner._framing", ["jetliner/_framing.pyx"], extra_compile_args=["-O3"]),
        ],
        compiler_directives={"language_level": "3"},
    ),
)
